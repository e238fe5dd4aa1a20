"""Offline demo: a generated narrated "surgery" video and a full pipeline run."""
