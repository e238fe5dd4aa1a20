"""`publish_release` against an in-memory Hub that drops the connection mid-upload once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from builders import publish as publish_module
from builders.publish import PublishError, publish_release, resolve_token
from builders.release import build_release
from tests.builders.runfactory import make_release_run, release_config
from tests.helpers.fake_hub import FakeHfApi

TOKEN = "hf_" + "Q7xk2LmP9rTa4VbN8sWc3YdE6fGh1JzK"
REPO = "surgery-lab/ophora-mini"


@pytest.fixture
def release(tmp_path: Path) -> Path:
    config = release_config("build.verify=false")
    return build_release(make_release_run(tmp_path / "run", config), config).out_dir


def _all_files_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def test_interrupted_upload_resumes_with_only_the_rest(release: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub = FakeHfApi(fail_on_commit=2)
    tokens_seen: list[str] = []

    def fake_api(token: str) -> FakeHfApi:
        tokens_seen.append(token)
        return hub

    monkeypatch.setattr(publish_module, "make_api", fake_api)
    config = release_config("publish.files_per_commit=2")
    messages: list[str] = []
    with pytest.raises(PublishError, match="run publish again"):
        publish_release(release, REPO, config, echo=messages.append)
    repo = hub.repos[REPO]
    first_batch = set(repo.files)
    assert len(first_batch) == 2 and repo.private is True and not repo.tags

    result = publish_release(release, REPO, config, echo=messages.append)
    local = {p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()}
    assert repo.files == local
    assert set(result.uploaded) == set(local) - first_batch and set(result.already_there) == first_batch
    assert result.uploaded[-3:] == ["release.json", "checksums.sha256", "README.md"]  # card last
    assert repo.tags == {"ds-test01": repo.commits[-1].oid} and result.revision == repo.commits[-1].oid
    assert repo.gated == "manual"

    again = publish_release(release, REPO, config)
    assert again.uploaded == [] and len(again.already_there) == len(local)
    assert tokens_seen == [TOKEN] * 3
    output = capsys.readouterr()
    logged = "\n".join(messages) + output.out + output.err + caplog.text
    assert TOKEN not in logged and TOKEN not in _all_files_text(tmp_path)


def test_stale_remote_shards_are_deleted_and_visibility_flags_apply(release: Path) -> None:
    hub = FakeHfApi()
    hub.create_repo(REPO, repo_type="dataset", private=True)
    hub.repos[REPO].files["data/train-00042.tar"] = b"old shard"
    hub.repos[REPO].files["notes.md"] = b"kept: not a release path"
    result = publish_release(release, REPO, release_config(), private=False, gated="off", api=hub, token=TOKEN)
    assert result.deleted == ["data/train-00042.tar"]
    assert "data/train-00042.tar" not in hub.repos[REPO].files and "notes.md" in hub.repos[REPO].files
    assert hub.repos[REPO].private is False and hub.repos[REPO].gated is False


def test_errors_never_carry_the_token(release: Path) -> None:
    class LeakyHub(FakeHfApi):
        def create_commit(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
            raise RuntimeError(f"401 Unauthorized for header Authorization: Bearer {TOKEN}")

    with pytest.raises(PublishError) as err:
        publish_release(release, REPO, release_config(), api=LeakyHub(), token=TOKEN)
    assert TOKEN not in str(err.value) and "401 Unauthorized" in str(err.value)


def test_token_from_env_or_login_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    token_path = tmp_path / "hf-home" / "token"  # where `hf auth login` stores it
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(token_path))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    config = release_config("publish.token_env=MY_HUB_TOKEN")
    with pytest.raises(PublishError, match=r"set \$MY_HUB_TOKEN or run `hf auth login`"):
        resolve_token(config)
    token_path.parent.mkdir()
    token_path.write_text(TOKEN)
    assert resolve_token(config) == TOKEN
    monkeypatch.setenv("MY_HUB_TOKEN", "hf_fromEnvironmentVariable123456")
    assert resolve_token(config) == "hf_fromEnvironmentVariable123456"


def test_refuses_a_folder_that_was_not_built(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="not a built release"):
        publish_release(tmp_path, REPO, release_config(), api=FakeHfApi(), token=TOKEN)
