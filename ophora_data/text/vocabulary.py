"""Ophthalmic-surgery vocabulary for the rules captioner (cataract-first; extend per procedure).

Terms are lower case; multi-word terms are matched as phrases on word boundaries.
"""

from __future__ import annotations

import re
from functools import cache

ACTIONS: frozenset[str] = frozenset({
    "make", "create", "incise", "enter", "inject", "insert", "remove", "aspirate", "irrigate", "polish",
    "implant", "position", "rotate", "center", "centre", "dial", "fill", "stain", "cut", "tear",
    "complete", "start", "begin", "initiate", "continue", "perform", "sculpt", "crack", "chop",
    "divide", "split", "emulsify", "hydrodissect", "hydrodelineate", "hydrate", "load", "fold",
    "unfold", "place", "lift", "grasp", "flip", "tilt", "prolapse", "retract", "push", "pull",
    "advance", "withdraw", "suture", "close", "seal", "check", "wash", "flush", "rinse", "clean",
    "apply", "instill", "mark", "measure", "stabilize", "stabilise", "expand", "dilate", "use",
    "separate", "nudge", "engage", "tie", "trim", "open", "pass", "tap", "press", "hold", "move",
    "bring", "clear", "vacuum", "stretch", "administer", "deliver", "release", "activate", "extend",
    "enlarge", "widen", "tamponade", "inflate", "deflate", "coat", "protect", "maintain", "reposition",
    "lock", "introduce", "puncture", "score", "dissect", "excise", "cauterize", "cauterise", "inspect",
    "verify", "confirm", "replace", "refill", "reform", "deepen", "express", "capture", "extract",
    "fragment", "quarter", "rock", "elevate", "depress", "manipulate", "guide", "slide", "tuck",
    "twist", "thread", "paint", "dry", "drape", "prep", "prepare", "sweep", "strip", "peel", "shave",
    "trephine", "graft", "fixate", "anchor", "bury", "adjust", "align", "orient",
})

# Irregular past forms and participles seen in narration.
IRREGULAR: dict[str, str] = {
    "made": "make", "torn": "tear", "tore": "tear", "held": "hold", "brought": "bring", "begun": "begin",
    "began": "begin", "cut": "cut", "split": "split", "put": "put", "set": "set", "done": "do", "did": "do",
    "taken": "take", "took": "take", "given": "give", "gave": "give", "kept": "keep", "left": "leave",
    "swept": "sweep", "slid": "slide", "thrown": "throw", "shown": "show", "seen": "see", "drawn": "draw",
}
EXTRA_BASE: frozenset[str] = frozenset({
    "put", "set", "do", "take", "give", "keep", "leave", "throw", "show", "see", "draw", "get", "go",
    "try",
})

INSTRUMENTS: tuple[str, ...] = (
    "keratome", "blade", "knife", "cystotome", "capsulorhexis forceps", "utrata forceps", "forceps",
    "phaco tip", "phaco probe", "phaco handpiece", "phacoemulsification handpiece", "handpiece",
    "probe", "chopper", "hook", "spatula", "cannula", "needle", "syringe", "injector", "cartridge",
    "speculum", "retractor", "i/a handpiece", "i/a tip", "irrigation handpiece", "scissors",
    "malyugin ring", "capsular tension ring", "iris hooks", "trocar", "vitrector", "cautery", "sponge",
    "manipulator", "second instrument", "polishing tip", "marker", "caliper", "suture", "nylon",
    "device",
)
ANATOMY: tuple[str, ...] = (
    "anterior chamber", "posterior chamber", "anterior capsule", "posterior capsule", "capsular bag",
    "capsule", "cornea", "corneal endothelium", "endothelium", "epithelium", "limbus", "lens",
    "nucleus", "epinucleus", "cortex", "iris", "pupil", "angle", "zonules", "sclera", "conjunctiva",
    "vitreous", "retina", "incision", "wound", "paracentesis", "stroma", "descemet's membrane",
    "trabecular meshwork", "visual axis", "eye",
)
MEDICATIONS: tuple[str, ...] = (
    "viscoelastic", "ovd", "ophthalmic viscosurgical device", "healon", "sodium hyaluronate",
    "trypan blue", "balanced salt solution", "bss", "acetylcholine", "carbachol", "miochol",
    "moxifloxacin", "cefuroxime", "antibiotic", "corticosteroids", "corticosteroid", "steroid",
    "lidocaine", "povidone-iodine", "epinephrine", "phenylephrine", "tropicamide", "triamcinolone",
    "mitomycin", "intracameral",
)
PROCEDURE_TERMS: tuple[str, ...] = (
    "capsulorhexis", "rhexis", "capsulotomy", "hydrodissection", "hydrodelineation", "phacoemulsification",
    "phaco", "intraocular lens", "iol", "haptic", "optic", "irrigation", "aspiration", "emulsify", "surgeon",
)
CHITCHAT: tuple[str, ...] = (
    "subscribe", "channel", "thanks for watching", "thank you for watching", "thanks for joining",
    "like this video", "like and share", "comment below", "comments below", "follow me", "sponsor",
    "sponsored", "patreon", "hello everyone", "hi everyone", "hey guys", "welcome to", "welcome back",
    "see you next time", "see you in the next", "goodbye", "bye", "music", "link in the description",
    "my website", "instagram", "facebook", "twitter", "notification bell", "don't forget",
)
# Keyword prefixes -> phase (Cataract-1K style names): most hits wins, ties go to the earlier phase.
PHASE_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tonifying and antibiotics", ("antibiotic", "moxifloxacin", "cefuroxime", "acetylcholine", "miochol",
                                   "stromal hydration", "hydrate the wound")),
    ("viscoelastic suction", ("remove the viscoelastic", "aspirate the viscoelastic", "viscoelastic removal",
                              "remove the ovd", "viscoelastic agent is aspirated")),
    ("anterior chamber flushing", ("flush",)),
    ("capsule polishing", ("polish",)),
    ("lens positioning", ("dial", "centration", "center the lens", "centre the lens", "position the lens",
                          "adjusts the position", "haptic")),
    ("lens implantation", ("injector", "cartridge", "intraocular lens", "iol", "implant")),
    ("irrigation-aspiration", ("irrigation", "aspiration", "i/a", "cortex")),
    ("phacoemulsification", ("phaco", "nucleus", "sculpt", "chop", "crack", "emulsif", "ultrasonic")),
    ("hydrodissection", ("hydrodissection", "hydrodelineation", "fluid wave")),
    ("capsulorhexis", ("capsulorhexis", "rhexis", "cystotome", "capsulotomy", "capsular flap")),
    ("viscoelastic", ("viscoelastic", "ovd", "healon", "sodium hyaluronate")),
    ("incision", ("incision", "keratome", "paracentesis", "wound")),
)


@cache
def phrase_pattern(terms: tuple[str, ...], prefix: bool = False) -> re.Pattern[str]:
    """One regex for a term list; longer terms first so 'capsular bag' beats 'capsule'.

    prefix=True also matches inflections ('flush' finds 'flushed', 'polish' finds 'polishing').
    """
    ordered = sorted(terms, key=len, reverse=True)
    tail = r"[a-z]*" if prefix else ""
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(t) for t in ordered) + rf"){tail}(?![\w-])", re.I)


def find_terms(text: str, terms: tuple[str, ...], prefix: bool = False) -> list[str]:
    """Distinct terms found, in order of first appearance, lower case."""
    found: dict[str, None] = {}
    for match in phrase_pattern(terms, prefix).finditer(text):
        found.setdefault(match.group(0).lower(), None)
    return list(found)
