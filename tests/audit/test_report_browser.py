"""The report in headless Chromium: loads cleanly offline, numbers match the tables, search filters.

Writes test-artifacts/audit-report.png (git-ignored). Skips when no Chromium is installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ophora_data.audit.judge import bound_text
from ophora_data.audit.query import run_query
from ophora_data.audit.report import write_report
from ophora_data.run.workdir import RunDir
from tests.audit.chromium import Chromium, find_chromium
from tests.conftest import make_config

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed")
    chromium = Chromium(binary, tmp_path / "profile")
    yield chromium
    chromium.close()


def _table_counts(run: RunDir) -> dict[str, int]:
    """The funnel's numbers, computed independently with SQL over the tables."""
    config = make_config()

    def one(sql: str) -> int:
        return int(run_query(run, config, sql).rows[0][0])

    # A clip is captioned when all its caption rows (instruction and confidence check) are ok.
    captioned = "SELECT clip_id FROM caption GROUP BY clip_id HAVING bool_and(status = 'ok')"
    return {
        "sources": one("SELECT count(DISTINCT video_id) FROM ingest"),
        "downloaded": one("SELECT count(*) FROM download WHERE status = 'ok'"),
        "transcribed": one("SELECT count(*) FROM transcribe WHERE status = 'ok'"),
        "windows": one("SELECT count(DISTINCT clip_id) FROM segment"),
        "captioned": one(f"SELECT count(*) FROM segment s JOIN ({captioned}) c USING (clip_id) "
                         "WHERE s.status = 'ok'"),
        "cut": one(f"SELECT count(*) FROM segment s JOIN ({captioned}) c USING (clip_id) JOIN cut USING (clip_id) "
                   "WHERE s.status = 'ok' AND cut.status = 'ok'"),
        "kept": one("SELECT count(*) FROM decisions WHERE decision = 'kept'"),
    }


def test_report_in_headless_chromium(decided_run: RunDir, browser: Chromium) -> None:
    config = make_config()
    page = write_report(decided_run, config)
    browser.navigate(page.as_uri())

    assert browser.problems() == []
    external = [u for u in browser.requested_urls() if not u.startswith(("file:", "data:"))]
    assert external == []

    funnel = browser.evaluate(
        "JSON.stringify(Object.fromEntries([...document.querySelectorAll('.funnel .step')].map("
        "s => [s.dataset.step, Number(s.querySelector('.count').textContent)])))")
    assert json.loads(funnel) == _table_counts(decided_run)

    shown = json.loads(browser.evaluate(
        "JSON.stringify(Object.fromEntries([...document.querySelectorAll('[data-threshold]')].map("
        "r => [r.dataset.threshold, r.querySelector('.bound').textContent])))"))
    from ophora_data.audit.decisions import thresholds

    assert set(shown) == set(thresholds(config))
    for name, text in shown.items():
        stage, check = name.split(".")
        assert text == bound_text(getattr(getattr(config, stage), check))
    captions = browser.evaluate("[...document.querySelectorAll('#histograms figure')].map(f => f.textContent)"
                                ".join(' | ')")
    assert "threshold >= 0.2" in captions and "threshold >= 720" in captions

    total = browser.evaluate("document.querySelectorAll('.card').length")
    visible = "document.querySelectorAll('.card:not([hidden])').length"
    assert browser.evaluate(visible) == total == 9
    search = ("(q => { const i = document.getElementById('search'); i.value = q; "
              "i.dispatchEvent(new Event('input')); return [...document.querySelectorAll('.card:not([hidden])')]"
              ".map(c => c.dataset.clip).sort().join(','); })")
    assert browser.evaluate(f"{search}('vidB')") == "vidB_0,vidB_1,vidB_2,vidB_3"
    assert browser.evaluate(f"{search}('capsulorhexis vida_4')") == "vidA_4"
    assert browser.evaluate("document.querySelector('[data-shown-for=\"kept\"]').textContent") == "0"
    assert browser.evaluate(f"{search}('no such clip')") == ""
    assert "0 of 9 clips match" in browser.evaluate("document.getElementById('search-count').textContent")
    assert browser.evaluate(f"{search}('')") .count(",") == 8
    assert browser.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")

    # Timelines: drawn from the page's JSON, filtered by the same search box, a window explains itself.
    assert browser.evaluate("document.querySelectorAll('#timeline-list rect.win').length") == 9
    browser.evaluate(f"{search}('vidA_4')")
    assert browser.evaluate("[...document.querySelectorAll('#timeline-list .video h3')].map(h => h.textContent)"
                            ".join('|')").startswith("vidA ")
    browser.evaluate("document.querySelectorAll('#timeline-list rect.win')[4].dispatchEvent("
                     "new MouseEvent('click', {bubbles: true}))")
    detail = browser.evaluate("document.getElementById('timeline-detail').textContent")
    assert "vidA_4" in detail and "rejected: quality.width" in detail and "audit explain vidA_4" in detail
    browser.evaluate(f"{search}('')")

    shot = browser.screenshot(ARTIFACTS / "audit-report.png")
    assert shot.stat().st_size > 10_000
    assert browser.problems() == []
