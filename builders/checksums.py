"""`checksums.sha256`: one `sha256sum`-compatible line per release file (`sha256sum -c` checks it)."""

from __future__ import annotations

from pathlib import Path

from ophora_data.run.atomic import atomic_write_text
from ophora_data.run.ids import file_content_hash

CHECKSUMS_FILE = "checksums.sha256"


def release_files(folder: Path) -> list[Path]:
    """Every file of a release except the checksums file and hidden files, sorted by path."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.name != CHECKSUMS_FILE
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def write_checksums(folder: Path) -> dict[str, str]:
    sums = {p.relative_to(folder).as_posix(): file_content_hash(p) for p in release_files(folder)}
    atomic_write_text(folder / CHECKSUMS_FILE, "".join(f"{h}  {name}\n" for name, h in sums.items()))
    return sums


def read_checksums(folder: Path) -> dict[str, str]:
    sums = {}
    for line in (folder / CHECKSUMS_FILE).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if name:
            sums[name] = digest
    return sums


def checksum_mismatches(folder: Path) -> list[str]:
    """Files missing, extra or changed relative to the checksums file."""
    expected = read_checksums(folder)
    actual = {p.relative_to(folder).as_posix() for p in release_files(folder)}
    problems = [f"missing: {name}" for name in sorted(set(expected) - actual)]
    problems += [f"not listed: {name}" for name in sorted(actual - set(expected))]
    problems += [f"changed: {name}" for name in sorted(set(expected) & actual)
                 if file_content_hash(folder / name) != expected[name]]
    return problems
