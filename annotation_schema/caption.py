"""Caption schema v1: the pydantic twin of `caption_v1.schema.json` (the JSON file is the published form).

Both are versioned together: change one, bump CAPTION_SCHEMA_VERSION and add a new file, so
every stored row says which schema produced it.

Validation is strict, as the JSON Schema is: `"yes"` is not a boolean and `"0.9"` or `"high"` not
a number (coercing them would store what the model did not say, and break typed columns at
release). The phase vocabulary is configuration, not schema: pass it as validation context,
`CaptionV1.model_validate(data, context={"phases": (...)})`, and a phase outside it is an error
naming the field; a phase that differs only in case or spacing is stored in the configured spelling.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

CAPTION_SCHEMA_VERSION = "caption-v1"
CAPTION_SCHEMA_PATH = Path(__file__).with_name("caption_v1.schema.json")


class CaptionV1(BaseModel):
    """One clip's instruction and structured attributes."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    instruction: str = Field(min_length=1, max_length=300)
    surgical_phase: str | None
    instruments: list[str]
    action: str | None
    anatomy: str | None
    medications: list[str]
    is_procedural: bool
    confidence: float = Field(ge=0.0, le=1.0)

    @field_validator("instruction")
    @classmethod
    def _one_line(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("instruction is empty")
        return value

    @field_validator("surgical_phase")
    @classmethod
    def _in_vocabulary(cls, value: str | None, info: ValidationInfo) -> str | None:
        phases = tuple((info.context or {}).get("phases") or ())
        if value is None or not phases:
            return value
        canonical = {" ".join(p.lower().split()): p for p in phases}
        found = canonical.get(" ".join(value.lower().split()))
        if found is None:
            shown = ", ".join(repr(p) for p in phases[:2]) + (f", ... {len(phases)} in all" if len(phases) > 2 else "")
            raise ValueError(f"{value!r} is not a configured phase ({shown}) or null")
        return found

    @field_validator("instruments", "medications")
    @classmethod
    def _clean_list(cls, values: list[str]) -> list[str]:
        # Models sometimes repeat an item or emit blanks; order is kept, duplicates dropped.
        seen: dict[str, None] = {}
        for value in values:
            value = value.strip()
            if value and value.lower() not in {k.lower() for k in seen}:
                seen[value] = None
        return list(seen)

    def attributes(self) -> dict[str, Any]:
        """Everything but the instruction: the `attributes` column of the caption table."""
        return self.model_dump(exclude={"instruction"})


@cache
def caption_json_schema() -> dict[str, Any]:
    """The published JSON Schema (loaded once)."""
    return json.loads(CAPTION_SCHEMA_PATH.read_text(encoding="utf-8"))
