"""A persistent SQLite cache of validated LLM answers, so a resume or a re-run never pays twice.

Keyed by a hash of model + prompt/schema version + the exact messages; only the hash and
the validated answer are stored, never the narration itself. One short-lived connection per
call keeps it safe across threads and worker processes (WAL journal, busy timeout).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from ophora_data.run.tables import now_iso

_SCHEMA = """CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, namespace TEXT NOT NULL,
    response TEXT NOT NULL, usage TEXT NOT NULL, created_at TEXT NOT NULL)"""


def request_key(model: str, namespace: str, messages: list[dict[str, str]]) -> str:
    payload = json.dumps({"model": model, "namespace": namespace, "messages": messages}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class RequestCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get(self, key: str) -> tuple[dict[str, Any], dict[str, int]] | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT response, usage FROM requests WHERE key = ?", (key,)).fetchone()
        return (json.loads(row[0]), json.loads(row[1])) if row else None

    def put(
        self, key: str, model: str, namespace: str, response: dict[str, Any], usage: dict[str, int]
    ) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO requests VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, namespace, json.dumps(response, sort_keys=True), json.dumps(usage), now_iso()),
            )

    def __len__(self) -> int:
        with closing(self._connect()) as db:
            return int(db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
