"""Is a file a text list of sources, and its text: UTF-8 (a BOM is dropped) or BOM-marked UTF-16.

Spreadsheet programs save "Unicode text" as UTF-16 with a BOM, so that is accepted too; any other
encoding, or binary data such as a video, is reported with a reason instead of an exception.
"""

from __future__ import annotations

import codecs
from pathlib import Path

# Enough to tell a binary container (whose first kilobytes hold NUL bytes and invalid UTF-8)
# from a text list without reading a multi-GB video.
SNIFF_BYTES = 64 * 1024
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class NotText(ValueError):
    """The file is not UTF-8/UTF-16 text; the message says why (for a rejected row's reason)."""


def _encoding(head: bytes) -> str:
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    return "utf-8-sig"


def _check(text: str) -> None:
    if "\x00" in text:
        raise NotText("binary data (NUL bytes), not a text list")


def _describe(exc: UnicodeDecodeError, encoding: str) -> str:
    name = "UTF-16" if encoding == "utf-16" else "UTF-8"
    return f"not {name} text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"


def sniff_text(path: Path) -> str:
    """Empty when the start of `path` reads as text, else why not. Raises OSError if unreadable."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    encoding = _encoding(head)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        _check(decoder.decode(head, final=False))  # a character split at the cut is not an error
    except UnicodeDecodeError as exc:
        return _describe(exc, encoding)
    except NotText as exc:
        return str(exc)
    return ""


def read_text(path: Path) -> str:
    """The whole file as text. Raises NotText (with the reason) or OSError."""
    data = path.read_bytes()
    encoding = _encoding(data[:4])
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise NotText(_describe(exc, encoding) + "; save the list as UTF-8") from None
    _check(text)
    return text
