"""The audit report's content: funnel, thresholds, histograms, contact sheets, no network sources."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

from ophora_data.audit.decisions import thresholds
from ophora_data.audit.judge import bound_text
from ophora_data.audit.report import CSP, write_report
from ophora_data.audit.reportdata import collect
from ophora_data.config import Bound
from ophora_data.run.workdir import RunDir
from tests.conftest import make_config


def _step_counts(page: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r'data-step="(\w+)".*?data-count="(\d+)"', page)}


def test_funnel_counts_and_losses_by_reason(decided_run: RunDir) -> None:
    data = collect(decided_run, make_config())
    steps = {s.name: s for s in data.funnel}
    assert [s.name for s in data.funnel] == ["sources", "downloaded", "transcribed", "windows", "captioned",
                                              "cut", "kept"]
    assert {n: s.count for n, s in steps.items()} == {"sources": 3, "downloaded": 2, "transcribed": 2,
                                                      "windows": 9, "captioned": 6, "cut": 6, "kept": 4}
    assert steps["sources"].lost == {"ingest: not a URL or file": 1}
    assert steps["captioned"].lost == {"segment: window too short (# s)": 1, "caption: not procedural": 1,
                                       "missing caption": 1}
    assert steps["kept"].lost == {"quality.width": 1, "quality.height": 1, "score.clip_text_similarity": 1,
                                  "missing privacy": 1}


def test_page_is_self_contained_and_shows_every_threshold(decided_run: RunDir) -> None:
    config = make_config("score.clip_text_similarity.min=0.25")
    path = write_report(decided_run, config, decision_set_id=None)
    assert path == decided_run.root / "report" / "index.html"
    page = path.read_text()
    assert CSP in page
    # Nothing the browser could fetch: no http(s) URLs in src/href, no external stylesheets/scripts.
    assert not re.search(r'(src|href)="(?!data:|#)', page)
    assert "<link" not in page
    # The shown set is the one written (default thresholds), whatever the config passed now says.
    for name, limits in thresholds(make_config()).items():
        shown = escape(bound_text(Bound(**limits)))
        assert f'data-threshold="{name}"><td>{name}</td><td class="bound">{shown}</td>' in page
    assert _step_counts(page)["kept"] == 4


def test_contact_sheets_thumbnails_and_timeline(decided_run: RunDir) -> None:
    page = write_report(decided_run, make_config(), decided_run.root / "elsewhere" / "audit.html").read_text()
    cards = re.findall(r'<article class="card (\w+)" id="card-([\w-]+)"', page)
    assert sorted(cid for _, cid in cards) == sorted(f"vid{v}_{i}" for v, n in (("A", 5), ("B", 4)) for i in range(n))
    assert {cid for kind, cid in cards if kind == "kept"} == {"vidA_0", "vidA_1", "vidA_2", "vidB_2"}
    # Every window had a clip or a source frame to show: 9 inline JPEGs.
    assert page.count('src="data:image/jpeg;base64,') == 9
    timelines = json.loads(re.search(r'<script type="application/json" id="timeline-data"[^>]*>(.*?)</script>',
                                     page, re.S).group(1))
    windows = {video: [w for w in wins] for video, _, wins in timelines["videos"]}
    assert sorted(windows) == ["vidA", "vidB"]
    assert sorted(f"{v}_{w[4]}" for v, ws in windows.items() for w in ws) == sorted(c for _, c in cards)
    codes = {f"{v}_{w[4]}": w[2] for v, ws in windows.items() for w in ws}
    assert codes["vidA_0"] == 0 and codes["vidA_4"] == 1 and codes["vidA_3"] == 2  # kept, rejected, window
    assert timelines["reasons"][[w for w in windows["vidA"] if w[4] == "4"][0][3]] == "quality.width"
    assert 'data-reason="quality.width"' in page and 'data-reason="missing privacy"' in page
    cached = list((decided_run.cache_dir / "thumbnails").glob("*.jpg"))
    assert len(cached) == 9 and all(p.read_bytes()[:2] == b"\xff\xd8" for p in cached)


def test_max_cards_limits_each_sheet(decided_run: RunDir, tmp_path: Path) -> None:
    page = write_report(decided_run, make_config(), tmp_path / "r.html", max_cards=1).read_text()
    assert page.count('<article class="card kept"') == 1
    assert "3 more not shown" in page


def test_report_on_a_run_without_decisions(run_dir: RunDir) -> None:
    page = write_report(run_dir, make_config()).read_text()
    assert "none (run `decide` first)" in page
