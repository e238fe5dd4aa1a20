"""Render the release's README.md from DATASET_CARD.md with figures and the recipe of this run."""

from __future__ import annotations

import json
import re
import statistics
import string
from collections import Counter
from pathlib import Path

import yaml

from builders.collect import ReleaseInputs
from builders.layout import ConfigLayout
from builders.manifest_card import has_media, records_note, reproduce_section
from builders.provenance import code_version
from ophora_data.config import Bound, Config, config_to_yaml, stable_hash
from ophora_data.paths import DATASET_CARD_TEMPLATE
from ophora_data.run.secrets import redact

GATED_BLOCK = re.compile(r"^# gated:start\n.*?^# gated:end\n", re.M | re.S)
GATED_MARKERS = re.compile(r"^# gated:(start|end)\n", re.M)


def size_category(n: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M")]
    return next((label for limit, label in bounds if n < limit), "10M<n<100M")


def template_text(config: Config) -> str:
    path = Path(config.build.card_template) if config.build.card_template else DATASET_CARD_TEMPLATE
    return path.read_text(encoding="utf-8")


def render(template: str, values: dict[str, str], gated: bool) -> str:
    text = GATED_MARKERS.sub("", template) if gated else GATED_BLOCK.sub("", template)
    return string.Template(text).substitute(values)


class _NoAliasDumper(yaml.SafeDumper):
    """Repeat shared features in full: the Hub's card parser should not have to resolve anchors."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _yaml(value: object) -> str:
    return yaml.dump(value, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=1000).rstrip("\n")


def _table(header: tuple[str, str], rows: list[tuple[str, str]]) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    return "\n".join(lines + [f"| {a} | {b} |" for a, b in rows])


def _statistics(inputs: ReleaseInputs, layouts: list[ConfigLayout], phase_key: str) -> str:
    kept = inputs.kept
    durations = [c.duration_s for c in kept if c.duration_s]
    reasons = Counter(r for c in inputs.candidates if not c.kept for r in c.reasons)
    rows = [
        ("candidate clips", str(len(inputs.candidates))),
        ("kept clips (`default`)", str(len(kept))),
        ("rejected clips", str(len(inputs.candidates) - len(kept))),
        ("source videos (kept clips)", str(len({c.video_id for c in kept}))),
        ("hours of video (kept)", f"{sum(durations) / 3600:.2f}"),
        ("mean / median clip duration", _durations(durations)),
    ]
    rows += [(f"`{lay.name}`: records, files, size", f"{lay.records}, {len(lay.files)}, {_size(lay.num_bytes)}")
             for lay in layouts]
    phases = Counter(str((c.attributes or {}).get(phase_key) or "unknown") for c in kept)
    out = [_table(("figure", "value"), rows), "", f"Kept clips per `{phase_key}`:", ""]
    out.append(_table((phase_key, "clips"), [(k, str(v)) for k, v in sorted(phases.items())]))
    if reasons:
        out += ["", "Most frequent rejection reasons (a clip can have several):", ""]
        out.append(_table(("reason", "clips"), [(f"`{k}`", str(v)) for k, v in reasons.most_common(10)]))
    return "\n".join(out)


def _durations(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.fmean(values):.2f} s / {statistics.median(values):.2f} s"


def _size(num_bytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if num_bytes >= scale:
            return f"{num_bytes / scale:.1f} {unit}"
    return f"{num_bytes} B"


def _bounds(config: Config) -> list[tuple[str, str]]:
    rows = []
    for section in type(config).model_fields:
        value = getattr(config, section)
        for name in type(value).model_fields if hasattr(type(value), "model_fields") else ():
            bound = getattr(value, name)
            if isinstance(bound, Bound):
                limits = f"[{bound.min}, {bound.max}]" if bound.op == "between" else f"{bound.op} {bound.threshold}"
                rows.append((f"`{section}.{name}`", limits))
    return rows


def _models(inputs: ReleaseInputs, config: Config) -> list[tuple[str, str]]:
    seen = {(f"{c['stage']}.{c['check']}", f"{c['model']} @ {c['model_revision'] or 'unpinned'}")
            for cand in inputs.candidates for c in cand.checks if c.get("model")}
    captioners = {(f"caption ({cand.captioner})", f"{cand.caption_model} (prompt {cand.prompt_version})")
                  for cand in inputs.candidates if cand.captioner}
    return sorted(seen | captioners)


def _recipe(inputs: ReleaseInputs, config: Config) -> str:
    rows = [("recipe", f"`{config.recipe}`"), ("config hash", f"`{stable_hash(config.model_dump(mode='json'))}`"),
            ("decision set", f"`{inputs.decision_set_id}`"), ("code version", f"`{code_version()}`")]
    parts = [_table(("item", "value"), rows), "", "Thresholds (a clip is kept when every check passes):", "",
             _table(("check", "accepted"), _bounds(config))]
    models = _models(inputs, config)
    parts += ["", "Models, captioner and prompt version:", ""]
    parts.append(_table(("used for", "model @ revision"), models) if models else "No model-backed checks ran.")
    resolved = redact(config_to_yaml(config)).rstrip("\n")
    parts += ["", "<details><summary>Full resolved config</summary>", "", "```yaml", resolved, "```", "",
              "</details>"]
    return "\n".join(parts)


def _sampling(cfg) -> str:
    """Which frames the privacy detectors looked at, in words (docs/privacy.md, "Coarse to fine")."""
    grid = "every frame" if cfg.every_n_frames == 1 else f"one frame in {cfg.every_n_frames}"
    faces = f"Faces ({cfg.face_detector}) were looked for on {grid}"
    if cfg.coarse_every_s <= 0:
        return f"{faces}, burned-in text ({cfg.text_detector}) on the same frames"
    return (f"{faces}; burned-in text ({cfg.text_detector}) on whole frames every {cfg.coarse_every_s:.2g} s and, "
            f"between those, on {grid} wherever the picture or the text changed")


def _privacy(inputs: ReleaseInputs, config: Config, strict: int) -> str:
    cfg = config.privacy
    kept = inputs.kept
    audio = "kept (narration audio may name people; listen before reuse)" if config.cut.audio else "removed"
    return "\n".join([
        f"- {_sampling(cfg)}; boxes were held between looked-at frames and smoothed over time, and "
        f"**{cfg.mode}** was applied "
        f"({cfg.blur}, strength {cfg.blur_strength}).",
        f"- A verification pass re-detected on every redacted clip: all {len(kept)} published clips passed "
        "it; `build` refuses a release with a kept clip that did not.",
        f"- `strict` ({strict} clips) holds only clips in which nothing was ever detected (the analogue of "
        "Ophora-28K).",
        "- Narration and instructions went through text de-identification (names, dates, ids, contacts); "
        "`build` refuses instructions that still match those patterns.",
        f"- Audio: {audio}.",
        "",
        "**Limits.** Detectors miss things: profile or partly covered faces, small or low-contrast text, "
        "text on busy backgrounds. Rule-based de-identification misses unusual names and indirect "
        "identifiers. Source URLs point to public videos that are not redacted. Report identifying "
        "content to the maintainers; do not try to identify anyone.",
    ])


def _load_examples(repo: str, layouts: list[ConfigLayout]) -> str:
    names = {lay.name for lay in layouts}
    lines = ["from datasets import load_dataset", "",
             f'ds = load_dataset("{repo}", "default", split="train", streaming=True)',
             "record = next(iter(ds))",
             'print(record["__key__"], record["txt"], record["json"]["duration_s"])']
    if has_media(layouts):
        lines.append('frames = record["mp4"].get_frames_in_range(0, 8).data  # torchcodec VideoDecoder')
    if "strict" in names:
        lines += ["", f'strict = load_dataset("{repo}", "strict", split="train")']
    lines += ["", "# the audit table: by config name (one json record per candidate) or as Parquet",
              f'audit = load_dataset("{repo}", "audit", split="train").flatten()',
              "import pandas as pd",
              f'table = pd.read_parquet("hf://datasets/{repo}/audit/candidates.parquet")',
              'table[table.decision == "rejected"][["clip_id", "reasons"]]']
    if "manifest" in names:
        lines += ["", "# sources, exact windows, redaction boxes and fingerprints (what `reproduce` uses)",
                  f'manifest = load_dataset("{repo}", "manifest", split="train")']
    return "\n".join(lines)


def card_values(inputs: ReleaseInputs, layouts: list[ConfigLayout], config: Config, repo: str) -> dict[str, str]:
    strict = next((lay.records for lay in layouts if lay.name == "strict"), 0)
    return {
        "pretty_name": json.dumps(config.build.pretty_name),
        "license": config.build.license,
        "size_category": size_category(len(inputs.kept)),
        "configs_yaml": _yaml({"configs": [lay.configs_entry() for lay in layouts]}),
        "dataset_info_yaml": _yaml({"dataset_info": [lay.info_entry() for lay in layouts]}),
        "title": config.build.pretty_name,
        "config_table": "\n".join(f"| `{lay.name}` | {lay.description} | {lay.records} |"
                                  for lay in layouts),
        "records_note": records_note(layouts),
        "reproduce": reproduce_section(repo, layouts, config),
        "statistics": _statistics(inputs, layouts, config.build.phase_attribute),
        "load_examples": _load_examples(repo, layouts),
        "recipe": _recipe(inputs, config),
        "scores_note": _scores_note(inputs, config),
        "privacy": _privacy(inputs, config, strict),
    }


def _scores_note(inputs: ReleaseInputs, config: Config) -> str:
    status = inputs.score_status
    if status.ran:
        return (f"{status.note.capitalize()} with `{config.score.model}` (pretrained: "
                f"`{config.score.pretrained}`), in the style of OphCLIP; values are in `json.scores` and in "
                "the audit table.")
    return (f"**No scores**: {status.note}. `json.scores` is null, and no clip was filtered on clip-text "
            "similarity or surgical content.")


def render_card(inputs: ReleaseInputs, layouts: list[ConfigLayout], config: Config,
                repo: str, overrides: dict[str, str] | None = None) -> str:
    """The card; `overrides` replace rendered sections by placeholder name (e.g. a reproduced release's recipe)."""
    values = {**card_values(inputs, layouts, config, repo), **(overrides or {})}
    return render(template_text(config), values, config.build.gated)
