"""Shared building blocks for config sections."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class Section(BaseModel):
    """A frozen config section; unknown keys are errors so typos never pass silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Bound(Section):
    """Acceptance bounds of one check: a value passes when min <= value <= max.

    A check row stores the measured value, so `decide`/`refilter` can re-evaluate it
    against a new Bound without recomputing anything.
    """

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Bound:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def accepts(self, value: float | None) -> bool:
        if value is None:
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)

    @property
    def op(self) -> str:
        if self.min is not None and self.max is not None:
            return "between"
        return ">=" if self.min is not None else "<="

    @property
    def threshold(self) -> float | None:
        return self.min if self.min is not None else self.max
