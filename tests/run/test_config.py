from __future__ import annotations

from pathlib import Path

import pytest

from ophora_data.config import ConfigError, parse_override, resolve_config
from ophora_data.paths import CONFIGS_DIR


def test_overrides_win_over_file_and_defaults(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("quality:\n  width: {min: 640}\nrun:\n  workers: 3\n")
    config = resolve_config(None, file, ["quality.width.min=800", "caption.captioner=rules"])
    assert config.quality.width.min == 800
    assert config.run.workers == 3
    assert config.caption.captioner == "rules"
    assert config.quality.height.min == 480  # default kept


def test_override_values_get_yaml_types() -> None:
    assert parse_override("score.enabled=false") == (["score", "enabled"], False)
    assert parse_override("transcribe.language=null") == (["transcribe", "language"], None)


def test_invalid_values_are_reported_field_by_field() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_config(None, None, ["run.workers=0", "quality.nonsense=1", "cut.crf=abc"])
    message = str(err.value)
    assert "run.workers" in message and "quality.nonsense: unknown field" in message and "cut.crf" in message


def test_bad_override_syntax_and_missing_file() -> None:
    with pytest.raises(ConfigError, match="expected section.key=value"):
        resolve_config(None, None, ["no-equals-sign"])
    with pytest.raises(ConfigError, match="not found"):
        resolve_config(None, Path("/nonexistent.yaml"))


@pytest.mark.parametrize("name", ["demo.yaml", "ophora160k.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    config = resolve_config(None, CONFIGS_DIR / name)
    assert config.recipe


def test_secrets_are_never_config_values() -> None:
    dumped = resolve_config().model_dump_json()
    assert "OPENAI_API_KEY" in dumped  # the env var *name* only
    assert "sk-" not in dumped
