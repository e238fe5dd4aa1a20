"""Config: pydantic models, one section per stage; resolved once per run."""

from ophora_data.config.base import Bound, Section
from ophora_data.config.load import (
    ConfigError,
    config_to_yaml,
    parse_override,
    resolve_config,
    stable_hash,
)
from ophora_data.config.model import Config

__all__ = [
    "Bound",
    "Config",
    "ConfigError",
    "Section",
    "config_to_yaml",
    "parse_override",
    "resolve_config",
    "stable_hash",
]
