"""Versioned JSON Schemas and pydantic models for records and LLM outputs."""
