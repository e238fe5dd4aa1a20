"""GPU tests: the CUDA code paths on tiny local models (`scripts/test.sh --gpu`).

Every test under tests/gpu/ is marked `gpu` here (so the default run deselects it even if a module
forgets its `pytestmark`) and skips cleanly when torch or a CUDA device is missing. Nothing
downloads: the models are the same tiny random-weight ones the CPU tests build.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.gpu)


# Session scope: pytest sets up wider-scoped fixtures first, so the skip comes before any module
# fixture builds a tiny model for nothing.
@pytest.fixture(scope="session", autouse=True)
def cuda_device() -> str:
    """'cuda' when a CUDA device is usable; otherwise the test is skipped (never failed)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device (torch.cuda.is_available() is False)")
    return "cuda"
