"""Reference CogVideoX tuning (Transfer Pre-Training, then Privacy-Preserving Fine-Tuning) and sampling."""
