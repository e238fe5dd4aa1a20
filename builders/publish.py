"""`publish`: upload a built release to a Hub dataset repo, resumably, and tag the revision.

Files go up in batches, one commit each, data first and the card last (the card's configs
then never point at missing shards). Before uploading, the remote tree is listed and every
file whose remote hash equals the local one is skipped: re-running after an interruption
uploads only what is missing. Remote shards the release no longer has are deleted in the
final commit, so a smaller rebuild never leaves stale shards behind a `train-*.tar` glob.

The token comes from the environment (`publish.token_env`) or the Hugging Face login
cache; it is handed to the client and never written, logged or put in an error message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.checksums import CHECKSUMS_FILE, read_checksums
from builders.layout import CARD_FILE, DATA_DIRS, MANIFEST_FILE
from ophora_data.config import Config
from ophora_data.run.ids import file_content_hash
from ophora_data.run.secrets import redact

Echo = Callable[[str], None]
REPO_TYPE = "dataset"
# Uploaded last, in one commit with the deletions: the card describes what is already there.
FINAL_FILES = (MANIFEST_FILE, CHECKSUMS_FILE, CARD_FILE)
GATING_OFF = "off"
GATING_CHOICES = ("auto", "manual", GATING_OFF)


class PublishError(RuntimeError):
    """Publishing could not finish; the message says what to do (never contains the token)."""


@dataclass
class PublishResult:
    repo_id: str
    uploaded: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    revision: str | None = None
    tag: str | None = None
    gated: str | None = None


def resolve_token(config: Config) -> str:
    """The env var named in config first, then the HF login cache (`hf auth login`)."""
    token = os.environ.get(config.publish.token_env, "").strip()
    if not token:
        from huggingface_hub import get_token

        token = (get_token() or "").strip()
    if not token:
        raise PublishError(f"no Hugging Face token: set ${config.publish.token_env} or run `hf auth login`")
    return token


def make_api(token: str) -> Any:
    from huggingface_hub import HfApi

    return HfApi(token=token)


def git_blob_sha1(path: Path) -> str:
    """The git object id of a non-LFS file, as the Hub reports it."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _remote_files(api: Any, repo_id: str) -> dict[str, Any]:
    from huggingface_hub.hf_api import RepoFile

    return {f.path: f for f in api.list_repo_tree(repo_id, repo_type=REPO_TYPE, recursive=True)
            if isinstance(f, RepoFile)}


def _same(remote: Any, local: Path, sha256: str) -> bool:
    if remote is None or remote.size != local.stat().st_size:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == sha256
    return remote.blob_id == git_blob_sha1(local)


def _batches(files: list[str], folder: Path, per_commit: int, max_bytes: float) -> Iterable[list[str]]:
    batch: list[str] = []
    size = 0
    for name in files:
        file_size = (folder / name).stat().st_size
        if batch and (len(batch) >= per_commit or size + file_size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(name)
        size += file_size
    if batch:
        yield batch


def tag_name(decision_set_id: str) -> str:
    """A valid git tag from the decision-set id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", decision_set_id).strip(".-") or "release"


def _scrub(text: str, token: str) -> str:
    return redact(text.replace(token, "***"))


class _Uploader:
    def __init__(self, api: Any, repo_id: str, folder: Path, decision_set_id: str, echo: Echo) -> None:
        self.api, self.repo_id, self.folder, self.echo = api, repo_id, folder, echo
        self.message = f"ophora-data release {decision_set_id}"
        self.revision: str | None = None

    def commit(self, names: list[str], deletions: list[str], note: str) -> None:
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        operations: list[Any] = [CommitOperationAdd(path_in_repo=n, path_or_fileobj=str(self.folder / n))
                                 for n in names]
        operations += [CommitOperationDelete(path_in_repo=n) for n in deletions]
        info = self.api.create_commit(self.repo_id, operations=operations, repo_type=REPO_TYPE,
                                      commit_message=f"{self.message}: {note}")
        self.revision = getattr(info, "oid", None) or self.revision


def publish_release(release_dir: Path, repo_id: str, config: Config, *, private: bool | None = None,
                    gated: str | None = None, api: Any = None, token: str | None = None,
                    echo: Echo | None = None) -> PublishResult:
    """Upload `release_dir` to `repo_id`; see the module docstring. Raises PublishError."""
    say = echo or (lambda _message: None)
    manifest = _read_manifest(release_dir)
    if api is None:
        token = token or resolve_token(config)
        api = make_api(token)
    secret = token or "\0no-token\0"
    try:
        return _publish(api, release_dir, repo_id, config, manifest, private, gated, say)
    except PublishError:
        raise
    except Exception as exc:  # network, HTTP and auth errors from huggingface_hub
        raise PublishError(
            f"publishing to {repo_id} stopped: {_scrub(f'{type(exc).__name__}: {exc}', secret)}; "
            "run publish again to upload only what is missing"
        ) from None


def _read_manifest(release_dir: Path) -> dict[str, Any]:
    path = release_dir / MANIFEST_FILE
    if not path.is_file() or not (release_dir / CHECKSUMS_FILE).is_file():
        raise PublishError(f"{release_dir} is not a built release: run `ophora-data build` first")
    return json.loads(path.read_text(encoding="utf-8"))


def _publish(api: Any, folder: Path, repo_id: str, config: Config, manifest: dict[str, Any],
             private: bool | None, gated: str | None, say: Echo) -> PublishResult:
    visibility = config.publish.private if private is None else private
    api.create_repo(repo_id, repo_type=REPO_TYPE, private=visibility, exist_ok=True)
    if private is not None:  # an explicit --public/--private also changes an existing repo
        api.update_repo_settings(repo_id, repo_type=REPO_TYPE, private=private)
    if manifest.get("repo_id") not in (repo_id, None):
        say(f"note: the card's examples name {manifest.get('repo_id')}; build with --repo {repo_id} to fix them")

    sums = read_checksums(folder)
    local = sorted(n for n in sums if n not in FINAL_FILES) + [n for n in FINAL_FILES if (folder / n).is_file()]
    remote = _remote_files(api, repo_id)
    result = PublishResult(repo_id)
    pending = []
    for name in local:
        sha = sums.get(name) or file_content_hash(folder / name)
        (result.already_there if _same(remote.get(name), folder / name, sha) else pending).append(name)
    managed = tuple(f"{d}/" for d in DATA_DIRS.values())
    result.deleted = sorted(n for n in remote if n.startswith(managed) and n not in sums)
    say(f"publish: {len(pending)} file(s) to upload, {len(result.already_there)} already on the Hub, "
        f"{len(result.deleted)} stale to delete")

    uploader = _Uploader(api, repo_id, folder, str(manifest["decision_set_id"]), say)
    data = [n for n in pending if n not in FINAL_FILES]
    final = [n for n in pending if n in FINAL_FILES]
    cfg = config.publish
    for number, batch in enumerate(_batches(data, folder, cfg.files_per_commit, cfg.commit_max_mb * 1e6), 1):
        uploader.commit(batch, [], f"data batch {number}")
        result.uploaded.extend(batch)
        say(f"  committed {len(batch)} file(s) ({len(result.uploaded)}/{len(pending)})")
    if final or result.deleted:
        uploader.commit(final, result.deleted, "card and checksums")
        result.uploaded.extend(final)
    result.revision = uploader.revision or getattr(api.repo_info(repo_id, repo_type=REPO_TYPE), "sha", None)
    if cfg.tag:
        result.tag = tag_name(str(manifest["decision_set_id"]))
        api.create_tag(repo_id, tag=result.tag, revision=result.revision, repo_type=REPO_TYPE, exist_ok=True,
                       tag_message=f"decision set {manifest['decision_set_id']}")
    result.gated = gated if gated is not None else cfg.gated
    if result.gated:  # "off" opens a gated repo again; None leaves the setting alone
        api.update_repo_settings(repo_id, repo_type=REPO_TYPE,
                                 gated=False if result.gated == GATING_OFF else result.gated)
    return result
