"""Text processing: de-identification, sentence windows over timed words, captioning helpers."""
