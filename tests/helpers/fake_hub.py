"""An in-memory stand-in for `huggingface_hub.HfApi`: the few calls `publish` makes.

Files are stored by path with their bytes; `list_repo_tree` answers with real
`huggingface_hub.hf_api.RepoFile` objects (LFS for tar/parquet/mp4, like the Hub's default
.gitattributes), so hashes are compared exactly as against the Hub. `fail_on_commit=N`
makes the N-th `create_commit` raise a connection error once (an interrupted upload:
nothing of that commit lands).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from huggingface_hub.hf_api import RepoFile

LFS_SUFFIXES = (".tar", ".parquet", ".mp4")


@dataclass
class FakeCommit:
    oid: str
    message: str
    added: list[str]
    deleted: list[str]


@dataclass
class FakeRepo:
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[FakeCommit] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    gated: str | bool = False


@dataclass
class FakeRepoInfo:
    sha: str | None


class FakeHfApi:
    def __init__(self, fail_on_commit: int | None = None) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.fail_on_commit = fail_on_commit
        self.commit_calls = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _log(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))

    def create_repo(self, repo_id: str, *, repo_type: str | None = None, private: bool = False,
                    exist_ok: bool = False, **_: Any) -> str:
        self._log("create_repo", repo_id=repo_id, repo_type=repo_type, private=private)
        if repo_id in self.repos and not exist_ok:
            raise ValueError(f"{repo_id} exists")
        self.repos.setdefault(repo_id, FakeRepo(private=private))
        return f"https://huggingface.co/datasets/{repo_id}"

    def list_repo_tree(self, repo_id: str, *, recursive: bool = False, repo_type: str | None = None,
                       **_: Any) -> list[RepoFile]:
        self._log("list_repo_tree", repo_id=repo_id, recursive=recursive)
        return [self._entry(path, data) for path, data in sorted(self.repos[repo_id].files.items())]

    @staticmethod
    def _entry(path: str, data: bytes) -> RepoFile:
        if path.endswith(LFS_SUFFIXES):
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\n"
            return RepoFile(path=path, size=len(data), oid=hashlib.sha1(pointer.encode()).hexdigest(),
                            lfs={"size": len(data), "oid": hashlib.sha256(data).hexdigest(), "pointerSize": 128})
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        return RepoFile(path=path, size=len(data), oid=blob)

    def create_commit(self, repo_id: str, *, operations: list[Any], commit_message: str,
                      repo_type: str | None = None, **_: Any) -> FakeCommit:
        self.commit_calls += 1
        if self.fail_on_commit is not None and self.commit_calls == self.fail_on_commit:
            self.fail_on_commit = None
            raise ConnectionError("Connection reset by peer while uploading LFS objects")
        repo = self.repos[repo_id]
        added, deleted = [], []
        for op in operations:
            if isinstance(op, CommitOperationAdd):
                repo.files[op.path_in_repo] = Path(str(op.path_or_fileobj)).read_bytes()
                added.append(op.path_in_repo)
            elif isinstance(op, CommitOperationDelete):
                repo.files.pop(op.path_in_repo, None)
                deleted.append(op.path_in_repo)
        commit = FakeCommit(hashlib.sha1(f"{len(repo.commits)}{commit_message}".encode()).hexdigest(),
                            commit_message, added, deleted)
        repo.commits.append(commit)
        self._log("create_commit", repo_id=repo_id, added=added, deleted=deleted)
        return commit

    def repo_info(self, repo_id: str, *, repo_type: str | None = None, **_: Any) -> FakeRepoInfo:
        commits = self.repos[repo_id].commits
        return FakeRepoInfo(commits[-1].oid if commits else None)

    def create_tag(self, repo_id: str, *, tag: str, revision: str | None = None, repo_type: str | None = None,
                   exist_ok: bool = False, **_: Any) -> None:
        self._log("create_tag", repo_id=repo_id, tag=tag, revision=revision)
        repo = self.repos[repo_id]
        if tag in repo.tags and not exist_ok:
            raise ValueError(f"tag {tag} exists")
        repo.tags.setdefault(tag, revision or "")

    def update_repo_settings(self, repo_id: str, *, gated: str | bool | None = None, private: bool | None = None,
                             repo_type: str | None = None, **_: Any) -> None:
        self._log("update_repo_settings", repo_id=repo_id, gated=gated, private=private)
        repo = self.repos[repo_id]
        if gated is not None:
            repo.gated = gated
        if private is not None:
            repo.private = private
