"""Where the project's own files live (configs/, DATASET_CARD.md) in an editable checkout."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIGS_DIR = PROJECT_ROOT / "configs"
DATASET_CARD_TEMPLATE = PROJECT_ROOT / "DATASET_CARD.md"
