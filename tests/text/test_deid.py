"""De-identification: typed placeholders, counts per type, no false positives on surgical numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ophora_data.config.deid import DeidConfig
from ophora_data.text.deid import DeidError, DeidResult, deidentify, deidentify_words, find_identifiers

CASES = [
    # (narration, expected text, expected counts)
    ("Dr. John Smith operated on Mrs. O'Brien today.", "[NAME] operated on [NAME] today.", {"NAME": 2}),
    ("This case was done by Prof McDonald and Dr Jean-Luc Picard.",
     "This case was done by [NAME] and [NAME].", {"NAME": 2}),
    ("My name is Ahmed Khan and this is my technique.", "My name is [NAME] and this is my technique.",
     {"NAME": 1}),
    ("Surgery on March 3, 2021 and again on 12th of May 2020.", "Surgery on [DATE] and again on [DATE].",
     {"DATE": 2}),
    ("Follow-up on 03/04/2021, 2021-03-04 and in June 2019.",
     "Follow-up on [DATE], [DATE] and in [DATE].", {"DATE": 3}),
    ("A 72-year-old man, aged 72, in his seventies.", "A [AGE] man, [AGE], [AGE].", {"AGE": 3}),
    ("Patient MRN 12345678, patient ID: AB-4455, medical record number 556677.",
     "Patient MRN [ID], patient ID: [ID], medical record number [ID].", {"ID": 3}),
    ("SSN 123-45-6789 and chart #99881.", "SSN [ID] and chart #[ID].", {"ID": 2}),
    ("Call (555) 123-4567 or +44 20 7946 0958, or phone 555-1234.",
     "Call [PHONE] or [PHONE], or phone [PHONE].", {"PHONE": 3}),
    ("Email dr.smith@eyeclinic.org for the slides.", "Email [EMAIL] for the slides.", {"EMAIL": 1}),
    ("See https://youtube.com/watch?v=abc123 and www.eyeclinic.com/cases.", "See [URL] and [URL].",
     {"URL": 2}),
]

# Surgical narration full of numbers and capitalised terms that are not identifiers.
SAFE = [
    "Now I make a 2.2 mm clear corneal incision with the keratome.",
    "Close the wound with 10-0 nylon; remove 1/2 of the nucleus at 30 degrees.",
    "Insert the SN60WF lens, a 20.5 dioptre IOL, with a 23 gauge cannula in 2019.",
    "You may see Descemet's membrane and the Sinskey hook near Schlemm's canal.",
    "Set the vacuum to 400 mmHg and the flow to 35 cc per minute, 5-0 suture, 8 clock hours.",
    "In May we start the capsulorhexis with the Utrata forceps.",
]


@pytest.mark.parametrize(("text", "expected", "counts"), CASES)
def test_identifiers_are_replaced_with_typed_placeholders(text: str, expected: str, counts: dict) -> None:
    result = deidentify(text)
    assert result == DeidResult(expected, counts)
    assert find_identifiers(text) == counts
    # What is left passes the release check, and a second pass changes nothing.
    assert find_identifiers(result.text) == {}
    assert deidentify(result.text) == DeidResult(result.text, {})


@pytest.mark.parametrize("text", SAFE)
def test_surgical_numbers_and_eponyms_are_kept(text: str) -> None:
    assert deidentify(text) == DeidResult(text, {})


def test_counts_never_hold_removed_text() -> None:
    result = deidentify("Dr. Alice Walker, alice@example.com, 555-867-5309, MRN 445566.")
    assert set(result.counts) <= {"NAME", "DATE", "AGE", "PHONE", "EMAIL", "URL", "ID"}
    for secret in ("Alice", "Walker", "alice@", "867", "445566"):
        assert secret not in result.text
        assert secret not in repr(result.counts)
    assert result.total == 4


def test_extra_titles_from_config() -> None:
    config = DeidConfig(extra_name_titles=("Surgeon",))
    assert deidentify("Surgeon Tanaka makes the incision.", config).text == "[NAME] makes the incision."
    assert deidentify("Surgeon Tanaka makes the incision.").counts == {}


def test_empty_text() -> None:
    assert deidentify("") == DeidResult("", {})
    assert find_identifiers("") == {}


def _ner_pipeline(path: Path) -> Path:
    """A real spaCy pipeline on disk whose NER (an entity ruler) tags people and an eponym."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([
        {"label": "PERSON", "pattern": [{"LOWER": "ahmed"}, {"LOWER": "khan"}]},
        {"label": "PERSON", "pattern": [{"LOWER": "descemet"}]},
        {"label": "GPE", "pattern": "London"},
    ])
    nlp.to_disk(path)
    return path


def test_spacy_ner_names_are_replaced_and_eponyms_kept(tmp_path: Path) -> None:
    config = DeidConfig(spacy_model=str(_ner_pipeline(tmp_path / "ner")))
    result = deidentify("Ahmed Khan shows Descemet membrane in London.", config)
    assert result == DeidResult("[NAME] shows Descemet membrane in London.", {"NAME": 1})
    assert find_identifiers("Ahmed Khan operates.", config) == {"NAME": 1}


def test_missing_spacy_model_is_a_clear_error() -> None:
    with pytest.raises(DeidError, match="deid.spacy_model"):
        deidentify("text", DeidConfig(spacy_model="no_such_pipeline_xyz"))


def test_words_are_deidentified_as_one_text() -> None:
    words = ["Hello,", "I", "am", "Dr.", "Jane", "Doe,", "MRN", "12345678,", "seen", "on", "March", "3,",
             "2021.", "Now", "incise."]
    results = deidentify_words(words)
    assert len(results) == len(words)
    assert [r.text for r in results] == ["Hello,", "I", "am", "[NAME]", "", ",", "MRN", "[ID],", "seen", "on",
                                         "[DATE]", "", ".", "Now", "incise."]
    # A window that starts inside "Dr. Jane Doe" holds no part of the name; counts sit where it starts.
    assert [r.counts for r in results[3:6]] == [{"NAME": 1}, {}, {}]
    assert sum(sum(r.counts.values()) for r in results) == 3
