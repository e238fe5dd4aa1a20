"""Resolve a config once: defaults < YAML file < `--set section.key=value` overrides."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ophora_data.config.model import Config


class ConfigError(ValueError):
    """A config that cannot be used; the message lists every bad field."""


def parse_override(text: str) -> tuple[list[str], Any]:
    """`score.clip_text_similarity.min=0.27` -> (['score', 'clip_text_similarity', 'min'], 0.27)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    path = [part for part in key.strip().split(".") if part]
    # YAML gives numbers, booleans, null and lists their natural types.
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def _apply(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def format_validation_error(err: ValidationError) -> str:
    lines = []
    for item in err.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(root)"
        shown = "" if item["type"] == "extra_forbidden" else f" (got {item.get('input')!r})"
        msg = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"  {field}: {msg}{shown}")
    return "invalid config:\n" + "\n".join(lines)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections")
    return data


def resolve_config(
    base: dict[str, Any] | None = None, file: Path | None = None, overrides: list[str] | None = None
) -> Config:
    data: dict[str, Any] = json.loads(json.dumps(base or {}))
    if file is not None:
        for section, values in read_yaml(file).items():
            if isinstance(values, dict) and isinstance(data.get(section), dict):
                data[section].update(values)
            else:
                data[section] = values
    for text in overrides or []:
        path, value = parse_override(text)
        _apply(data, path, value)
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err)) from None


def config_to_yaml(config: Config) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def stable_hash(value: Any, length: int = 12) -> str:
    """A short hash of JSON-able data, independent of key order."""
    blob = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:length]
