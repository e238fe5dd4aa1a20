from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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


SECRETS = {
    "OPENAI_API_KEY": "sk-test-config-0123456789abcdef",
    "HF_TOKEN": "hf_testconfig0123456789abcdefXYZ",
    "MY_LLM_KEY": "sk-custom-key-0123456789abcdef",
}


def test_secrets_in_the_environment_never_reach_the_written_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ophora_data.commands.common import open_run

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    file = tmp_path / "c.yaml"
    file.write_text("caption:\n  api_key_env: MY_LLM_KEY\n  base_url: http://127.0.0.1:8000/v1\n")
    run, config = open_run(tmp_path / "run", file, ["publish.token_env=HF_TOKEN"])
    written = run.config_path.read_text()
    saved = yaml.safe_load(written)
    # The file on disk is this config (names of the variables, the endpoint), never their values.
    assert saved["caption"]["api_key_env"] == "MY_LLM_KEY" and saved["publish"]["token_env"] == "HF_TOKEN"
    assert saved["caption"]["base_url"] == "http://127.0.0.1:8000/v1"
    assert run.load_config() == config
    files = [path for path in run.root.rglob("*") if path.is_file()]
    assert run.config_path in files
    for path in files:
        data = path.read_bytes()
        for name, value in SECRETS.items():
            assert value.encode() not in data, f"{name}'s value written to {path}"


def test_a_key_given_as_a_setting_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_config(None, None, [f"caption.api_key={SECRETS['OPENAI_API_KEY']}"])
    assert "caption.api_key: unknown field" in str(err.value)
    assert SECRETS["OPENAI_API_KEY"] not in str(err.value)
