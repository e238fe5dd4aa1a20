"""Keep secrets (HF_TOKEN, OPENAI_API_KEY, ...) out of logs, tables, configs and tracebacks."""

from __future__ import annotations

import os
import re

SECRET_ENV_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY")
_TOKEN_SHAPES = re.compile(r"\b(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{16,})\b")
MASK = "***"


def secret_values() -> list[str]:
    values = [os.environ.get(name, "") for name in SECRET_ENV_VARS]
    return [v for v in values if len(v) >= 6]


def redact(text: str) -> str:
    """Mask the values of known secret env vars and token-shaped strings."""
    for value in secret_values():
        text = text.replace(value, MASK)
    return _TOKEN_SHAPES.sub(MASK, text)
