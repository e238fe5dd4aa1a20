from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class DeidConfig(Section):
    spacy_model: str | None = Field(None, description="spaCy NER model for person names; None = rules only")
    extra_name_titles: tuple[str, ...] = ()
