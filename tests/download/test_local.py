from __future__ import annotations

import os
from pathlib import Path

import pytest

from ophora_data.download.local import link_into


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "case.mp4"
    path.parent.mkdir()
    path.write_bytes(b"video bytes")
    return path


def test_hard_link_first(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "raw" / "local-1.mp4"
    assert link_into(source, dest) == "hardlink" and dest.samefile(source)
    assert link_into(source, dest) == "existing"
    assert [p.name for p in dest.parent.iterdir()] == ["local-1.mp4"]  # no temp names left


def test_symlink_when_hard_links_fail(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def cross_device(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    dest = tmp_path / "raw" / "local-1.mp4"
    assert link_into(source, dest) == "symlink" and dest.is_symlink() and dest.read_bytes() == b"video bytes"


def test_copy_when_links_are_not_allowed(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "raw" / "local-1.mp4"
    dest.parent.mkdir()
    dest.write_bytes(b"stale")
    assert link_into(source, dest, allow_links=False) == "copy"
    assert dest.read_bytes() == b"video bytes" and not dest.samefile(source)
