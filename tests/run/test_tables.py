from __future__ import annotations

from pathlib import Path

from ophora_data.run.tables import Table, group_by, key_status


def test_rows_round_trip_with_nested_values(tmp_path: Path) -> None:
    table = Table(tmp_path, "caption")
    table.append(
        [
            {"clip_id": "a_0", "status": "ok", "reason": "", "attributes": {"instruments": ["forceps"]}, "n": 1},
            {"clip_id": "a_1", "status": "rejected", "reason": "not procedural", "attributes": None, "n": 2},
        ]
    )
    rows = table.all_rows()
    assert rows[0]["attributes"] == {"instruments": ["forceps"]}
    assert rows[1]["attributes"] is None
    assert rows[0]["_part"].startswith("part-")


def test_current_takes_newest_part_per_key_and_config_hash(tmp_path: Path) -> None:
    table = Table(tmp_path, "probe")
    table.append([{"video_id": "v1", "status": "failed", "reason": "x", "config_hash": "h1"}])
    table.append(
        [
            {"video_id": "v1", "status": "ok", "reason": "", "config_hash": "h1"},
            {"video_id": "v2", "status": "ok", "reason": "", "config_hash": "h2"},
        ]
    )
    current = table.current("video_id", "h1")
    assert [(r["video_id"], r["status"]) for r in current] == [("v1", "ok")]
    assert len(table.all_rows()) == 3  # append-only: the failed attempt stays for the audit


def test_marker_is_written_atomically(tmp_path: Path) -> None:
    table = Table(tmp_path, "probe")
    assert table.marker("h") is None
    table.write_marker("h", {"ok": 2})
    assert table.marker("h")["counts"] == {"ok": 2}


def test_key_status_precedence() -> None:
    assert key_status([{"status": "ok"}, {"status": "rejected"}]) == "rejected"
    assert key_status([{"status": "rejected"}, {"status": "failed"}]) == "failed"
    assert key_status([{"status": "ok"}]) == "ok"
    assert set(group_by([{"k": 1}, {"k": 1}, {"k": 2}], "k")) == {1, 2}
