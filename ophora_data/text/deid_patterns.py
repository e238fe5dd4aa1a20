"""Regular expressions for identifiers in spoken surgical narration.

Kept apart from the replacement logic so the release builder can reuse them as checks.
They are tuned to avoid surgical false positives: suture sizes ("10-0"), fractions
("1/2"), gauges, IOL model names ("SN60WF") and bare years are left alone (HIPAA's
Safe Harbor keeps the year).
"""

from __future__ import annotations

import re

# A match's `value` group, when it has one, is what gets replaced ("MRN [ID]", keeping the keyword).
# Placeholder per identifier type, in replacement priority order (earlier wins on overlap).
PLACEHOLDERS: dict[str, str] = {
    "EMAIL": "[EMAIL]",
    "URL": "[URL]",
    "ID": "[ID]",
    "DATE": "[DATE]",
    "PHONE": "[PHONE]",
    "AGE": "[AGE]",
    "NAME": "[NAME]",
}

NAME_TITLES: tuple[str, ...] = (
    "Dr", "Doctor", "Mr", "Mrs", "Ms", "Miss", "Mx", "Prof", "Professor", "Sir", "Dame", "Nurse", "Sister",
)

_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|2[01]\d\d)"
# A capitalised name word: "Smith", "O'Brien", "McDonald", "Jean-Luc"; initials "J." too.
NAME_WORD = r"(?:[A-Z](?:[a-z]+(?:[A-Z][a-z]+)?|['’][A-Z][a-z]+)(?:-[A-Z][a-z]+)?|[A-Z]\.)"

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)]"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|co|uk|de|fr|info|me|tv|ly|be)\b(?:/[^\s]*[^\s.,;:!?)])?",
    re.IGNORECASE,
)
ID = re.compile(
    # Keyword-introduced record numbers: "MRN 12345", "patient ID: AB-1234", "record #4455".
    r"\b(?:MRN|medical\s+record(?:\s+number)?|record\s+(?:number|no\.?|#)|patient\s+(?:ID|number|no\.?)"
    r"|hospital\s+(?:number|no\.?)|chart\s+(?:number|no\.?|#)|case\s+(?:number|no\.?|#)|accession(?:\s+number)?"
    r"|ID|SSN|NHS\s+number|account\s+(?:number|no\.?))\s*(?:is\s+|number\s+|:|#)?\s*[#:]?\s*"
    r"(?P<value>[A-Z]{0,3}-?\d[\d-]{2,}\d)\b"
    # US social security numbers, and long bare digit runs (6+ digits) no narration needs.
    r"|\b\d{3}-\d{2}-\d{4}\b|(?<![\d.,])\b\d{6,}\b(?![.,]\d)",
    re.IGNORECASE,
)
DATE = re.compile(
    rf"\b{_MONTHS}\.?\s+{_DAY}(?:,?\s+{_YEAR})?\b"  # March 3, 2021 / Mar 3rd
    rf"|\b{_DAY}\s+(?:of\s+)?{_MONTHS}\.?(?:,?\s+{_YEAR})?\b"  # 3 March 2021 / 3rd of March
    rf"|\b{_MONTHS}\.?,?\s+{_YEAR}\b"  # March 2021
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b"  # 03/04/2021, 3.4.21
    r"|\b\d{4}-\d{1,2}-\d{1,2}\b",  # 2021-03-04
    re.IGNORECASE,
)
PHONE = re.compile(
    r"(?<![\w-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]\d{4}\b"  # (555) 123-4567
    r"|(?<![\w-])\+\d{1,3}(?:[\s.-]?\d{2,4}){2,4}\b"  # +44 20 7946 0958
    # "call 555-1234": a bare local number only after a contact word
    r"|\b(?:phone|tel|telephone|call|fax|cell|mobile)\b[:\s]+(?:at\s+|on\s+)?(?P<value>\d{3}[\s.-]?\d{4})\b",
    re.IGNORECASE,
)
AGE = re.compile(
    r"\b\d{1,3}[\s-]*(?:year|yr|month|week|day)s?[\s-]*old\b"
    r"|\b\d{1,3}\s*(?:y/?o|yrs?\s+old)\b"
    r"|\b\d{1,3}\s+years?\s+of\s+age\b"
    r"|\b(?:aged?|age\s+of)\s*:?\s*\d{1,3}\b"
    r"|\b(?:in\s+(?:his|her|their)\s+)(?:early\s+|mid\s+|late\s+)?(?:twenties|thirties|forties|fifties|sixties"
    r"|seventies|eighties|nineties|\d0s)\b",
    re.IGNORECASE,
)


def name_pattern(extra_titles: tuple[str, ...] = ()) -> re.Pattern[str]:
    """A title (Dr., Mrs ...) followed by one to three capitalised name words; or "my name is X"."""
    titles = "|".join(sorted({re.escape(t.rstrip(".")) for t in (*NAME_TITLES, *extra_titles)}, key=len,
                             reverse=True))
    return re.compile(
        rf"\b(?:{titles})\.?\s+{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}}"
        rf"|(?<=\b[Mm]y name is )(?:{NAME_WORD})(?:\s+{NAME_WORD}){{0,2}}"
        rf"|(?<=\b[Nn]ame's )(?:{NAME_WORD})(?:\s+{NAME_WORD}){{0,2}}"
        rf"|(?<=\b[Pp]atient named )(?:{NAME_WORD})(?:\s+{NAME_WORD}){{0,2}}",
    )


RULE_PATTERNS: dict[str, re.Pattern[str]] = {
    "EMAIL": EMAIL,
    "URL": URL,
    "ID": ID,
    "DATE": DATE,
    "PHONE": PHONE,
    "AGE": AGE,
    "NAME": name_pattern(),
}
