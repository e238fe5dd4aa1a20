from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section

# Eponyms of ophthalmic anatomy and instruments: a NER model tags them PERSON, but they are not people.
DEFAULT_KEEP_TERMS: tuple[str, ...] = (
    "Descemet", "Bowman", "Schlemm", "Tenon", "Zinn", "Purkinje", "Sinskey", "Kuglen", "Barraquer",
    "Vannas", "Utrata", "Mackool", "Nagahara", "Chang", "Koch", "Seibel", "Osher", "Malyugin", "Graether",
    "Lieberman", "Kelman", "Jaffe", "Weck", "Westcott", "Castroviejo", "McPherson", "Healon", "Zepto",
)


class DeidConfig(Section):
    spacy_model: str | None = Field(
        None, description="spaCy pipeline (name or path) whose NER finds person names; None = rules only"
    )
    ner_labels: tuple[str, ...] = Field(("PERSON",), description="NER labels replaced by [NAME]")
    extra_name_titles: tuple[str, ...] = Field((), description="more titles that introduce a name")
    keep_terms: tuple[str, ...] = Field(
        DEFAULT_KEEP_TERMS, description="eponyms a NER model may tag as names but which are kept"
    )
