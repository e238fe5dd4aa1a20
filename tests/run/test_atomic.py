from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ophora_data.run.atomic import atomic_write, atomic_write_json, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "file.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_failed_write_leaves_old_content_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    atomic_write_json(target, {"ok": 1})

    def explode(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(target, explode)
    assert target.read_text().strip().startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.json"]


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_written_files_get_the_umask_permissions_not_the_temp_files(tmp_path: Path, umask: int) -> None:
    """A run directory shared by a group must stay readable: the temp file's 0o600 must not stick."""
    previous = os.umask(umask)
    try:
        target = atomic_write_json(tmp_path / "marker.json", {"ok": 1})
        written_by_tool = atomic_write(tmp_path / "part.bin", lambda tmp: tmp.write_bytes(b"x"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(written_by_tool.stat().st_mode) == 0o666 & ~umask
