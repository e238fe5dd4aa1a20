"""Local sources: put a file on disk into media/raw/ without copying when the filesystem allows."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Literal

LinkMode = Literal["existing", "hardlink", "symlink", "copy"]


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def link_into(source: Path, dest: Path, allow_links: bool = True) -> LinkMode:
    """Place `source` at `dest`: hard link, else symlink, else copy; always via a temp name.

    The temp-then-rename keeps a killed run from leaving a half-copied file under the final
    name. A hard link shares the bytes and survives the source being moved; a symlink is
    the fallback across filesystems; a copy the fallback where links are not allowed.
    """
    if dest.exists() and same_file(source, dest):
        return "existing"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        mode = _place(source.resolve(), tmp, allow_links)
        os.replace(tmp, dest)
    finally:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
    return mode


def _place(source: Path, tmp: Path, allow_links: bool) -> LinkMode:
    if allow_links:
        try:
            os.link(source, tmp)
            return "hardlink"
        except OSError:
            pass
        try:
            os.symlink(source, tmp)
            return "symlink"
        except OSError:
            pass
    shutil.copyfile(source, tmp)
    return "copy"
