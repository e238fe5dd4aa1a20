"""The embedded rules captioner on real Ophora phase captions and on the demo narration."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from annotation_schema import CaptionV1
from ophora_data.config.caption import CATARACT_PHASES
from ophora_data.demo.narration import DEMO_SENTENCES
from ophora_data.text.imperative import imperative, to_base
from ophora_data.text.rules_captioner import caption_rules
from ophora_data.text.vocabulary import ACTIONS

FIRST_PERSON = re.compile(r"(?<!/)\b(?:I'm|we're|I|we|my|our|us)\b(?!/)", re.I)  # not "I/A"
CHITCHAT = "Thanks for watching, and please subscribe to the channel."


def _phase_captions(realdata: Path) -> list[dict[str, str]]:
    with open(realdata / "text" / "ophora_cataract1k_phase_prompts.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_real_phase_captions_become_imperative_procedural_instructions(realdata: Path) -> None:
    rows = _phase_captions(realdata)
    assert len(rows) == 12
    phases_right = 0
    for row in rows:
        caption = caption_rules(row["caption prompt"], CATARACT_PHASES)
        assert isinstance(caption, CaptionV1)
        assert caption.is_procedural, row["caption prompt"]
        first = caption.instruction.split()[0]
        # Imperative: starts with a base-form surgical verb (or "Using X, <verb> ...").
        assert to_base(first) in ACTIONS, caption.instruction
        assert caption.instruction[0].isupper() and caption.instruction.endswith(".")
        assert not FIRST_PERSON.search(caption.instruction)
        assert len(caption.instruction.split()) <= 30
        assert caption.action in ACTIONS and caption.action != "use"
        assert caption.confidence >= 0.5
        expected = row["phase prompt"].rsplit(" ", 1)[-1].lower().replace("-", " ")
        phase = (caption.surgical_phase or "?").replace("-", " ")
        phases_right += phase.split()[0] == expected.split()[0]
    assert phases_right >= 10


def test_rules_keep_the_main_clause_and_drop_trailing_explanations() -> None:
    text = ("A diamond or steel keratome blade is used to create a small, self-sealing incision in the "
            "cornea, providing access to the anterior chamber of the eye.")
    caption = caption_rules(text, CATARACT_PHASES)
    assert caption.instruction == ("Use a diamond or steel keratome blade to create a small, self-sealing "
                                   "incision in the cornea.")
    assert caption.action == "create" and caption.surgical_phase == "incision"
    assert caption.instruments == ["keratome", "blade"]


def test_demo_narration_chitchat_is_not_procedural() -> None:
    captions = {s: caption_rules(s, CATARACT_PHASES) for s in DEMO_SENTENCES}
    assert CHITCHAT in captions
    assert captions.pop(CHITCHAT).is_procedural is False
    for sentence, caption in captions.items():
        assert caption.is_procedural, sentence
        assert not FIRST_PERSON.search(caption.instruction), caption.instruction
    assert captions[DEMO_SENTENCES[0]].instruction == (
        "Make a clear corneal incision at the temporal limbus with the keratome.")
    assert captions[DEMO_SENTENCES[4]].instruction == "Use the phaco tip to sculpt and remove the nucleus."


@pytest.mark.parametrize(("narration", "instruction"), [
    ("Um, so I'm going to, uh, make the paracentesis here.", "Make the paracentesis here."),
    ("Okay now we are injecting trypan blue under air", "Inject trypan blue under air."),
    ("Let's chop the nucleus into quarters.", "Chop the nucleus into quarters."),
    ("The lens is loaded into the cartridge and inserted through the incision.",
     "Load the lens into the cartridge and insert through the incision."),
    ("You can see the nice red reflex. Then I hydrate the wound with BSS.", "Hydrate the wound with BSS."),
])
def test_fillers_and_first_person_framing_are_removed(narration: str, instruction: str) -> None:
    assert caption_rules(narration).instruction == instruction


@pytest.mark.parametrize("narration", [
    "Hello everyone and welcome back to my channel.", "Okay, got it. I don't know.",
    "Don't forget to like this video and hit the notification bell.", ""])
def test_non_procedural_narration(narration: str) -> None:
    caption = caption_rules(narration)
    assert caption.is_procedural is False
    assert caption.surgical_phase is None and caption.action is None


def test_rules_are_deterministic() -> None:
    text = "Next I start the capsulorhexis with the cystotome and complete it with the forceps."
    assert caption_rules(text) == caption_rules(text)


def test_unknown_verbs_are_left_as_is() -> None:
    assert imperative("The view is somewhat blurry") == ("The view is somewhat blurry", False)
