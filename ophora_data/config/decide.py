from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class DecideConfig(Section):
    required_stages: tuple[str, ...] = Field(
        ("caption", "cut", "quality", "privacy"),
        description="a clip with no ok row from one of these is rejected as missing that stage",
    )
    ignore_checks: tuple[str, ...] = Field((), description="checks recorded but not used to decide")
