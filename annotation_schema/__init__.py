"""Versioned JSON Schemas and pydantic models for records and LLM outputs."""

from annotation_schema.caption import (
    CAPTION_SCHEMA_PATH,
    CAPTION_SCHEMA_VERSION,
    CaptionV1,
    caption_json_schema,
)

__all__ = ["CAPTION_SCHEMA_PATH", "CAPTION_SCHEMA_VERSION", "CaptionV1", "caption_json_schema"]
