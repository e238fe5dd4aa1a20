"""Which code built a release: the package version plus the git commit of a source checkout."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from ophora_data.paths import PROJECT_ROOT


def _git_commit() -> str | None:
    if not (PROJECT_ROOT / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


@cache
def code_version() -> str:
    try:
        package = version("ophora-data")
    except PackageNotFoundError:
        package = "unknown"
    commit = _git_commit()
    return f"{package}+g{commit}" if commit else package
