"""Errors of the transcripts package."""

from __future__ import annotations


class TranscriptFormatError(ValueError):
    """A transcript file cannot be read as any supported format; the message is a row reason."""
