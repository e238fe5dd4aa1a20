"""Word-timed transcripts: the normalised model, importers (WhisperX, whisper-timestamped, VTT, SRT), guards."""

from ophora_data.transcripts.errors import TranscriptFormatError
from ophora_data.transcripts.load import load_transcript, transcript_candidates
from ophora_data.transcripts.model import Segment, Transcript, Word

__all__ = ["Segment", "Transcript", "TranscriptFormatError", "Word", "load_transcript", "transcript_candidates"]
