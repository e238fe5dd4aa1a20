"""Which captioner makes a run's captions: chosen once, recorded in the run, carried by every row.

`caption.captioner: auto` and an unset `caption.base_url` defer to the shell (OPENAI_BASE_URL). The
first `caption` run that has work resolves them and writes the result into the run's
config.resolved.yaml (`record`), so from then on the run's config, not the environment, says which
captioner and endpoint it uses: a later shell without the variable neither hides the captions
(`status`) nor replaces them. Replacing them takes a config change (or `--overwrite`), and the
stage says so before it starts (`replacement_notice`). Rows carry `captioner`, `model`,
`endpoint` (as configured, never with credentials) and `prompt_version`. The API key is never
written: only the name of its environment variable is configuration.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

from ophora_data.config import Config
from ophora_data.config.caption import CaptionConfig
from ophora_data.run.atomic import atomic_write_text
from ophora_data.run.workdir import RunDir
from ophora_data.text.prompt import PROMPT_VERSION
from ophora_data.text.rules_captioner import RULES_VERSION

ENV_BASE_URL = "OPENAI_BASE_URL"


class CaptionerError(ValueError):
    """The captioner cannot be used as configured (credentials in a URL, captions by another captioner)."""


@dataclass(frozen=True)
class Captioner:
    """What made (or will make) a caption: kind llm or rules, model, endpoint, prompt version."""

    kind: str
    model: str
    endpoint: str | None
    prompt_version: str

    def describe(self) -> str:
        if self.kind == "rules":
            return f"the rules captioner ({self.prompt_version})"
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"the LLM {self.model}{where} ({self.prompt_version})"

    def same_maker(self, other: Captioner) -> bool:
        """The same captions would come out: kind, model and prompt (the endpoint only serves them)."""
        return (self.kind, self.model, self.prompt_version) == (other.kind, other.model, other.prompt_version)


def resolve(config: CaptionConfig) -> tuple[str, str | None]:
    """(llm | rules, base URL) as this config and this shell select them."""
    base_url = config.base_url or os.environ.get(ENV_BASE_URL) or None
    kind = config.captioner if config.captioner != "auto" else ("llm" if base_url else "rules")
    return kind, (base_url if kind == "llm" else None)


def identity(config: CaptionConfig) -> Captioner:
    kind, base_url = resolve(config)
    if kind == "rules":
        return Captioner("rules", "rules", None, RULES_VERSION)
    return Captioner("llm", config.model, base_url, PROMPT_VERSION)


def check_endpoint(url: str | None) -> None:
    """Refuse an endpoint that carries credentials: it would be written into the run's config and rows."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.username or parts.password or any(word in parts.query.lower() for word in ("key", "token", "secret")):
        raise CaptionerError("the LLM endpoint URL carries credentials; give the bare URL as caption.base_url "
                             "and the key in the variable named by caption.api_key_env (OPENAI_API_KEY)")


def is_recorded(config: CaptionConfig) -> bool:
    """True when the config alone selects the captioner (and, for the LLM, the endpoint): the shell's
    OPENAI_BASE_URL then changes nothing."""
    return config.captioner == "rules" or bool(config.base_url)


def record(run: RunDir, config: Config) -> Config:
    """Write the resolved captioner and endpoint into the run's config.resolved.yaml (only those two
    keys when the file exists, so nothing else it says changes; else the whole config); returns the
    config with them."""
    kind, base_url = resolve(config.caption)
    check_endpoint(base_url)
    caption = config.caption.model_copy(update={"captioner": kind, "base_url": base_url})
    recorded = config.model_copy(update={"caption": caption})
    data = run.saved_config_data()
    if not data:
        run.save_config(recorded)
        return recorded
    data.setdefault("caption", {}).update(captioner=kind, base_url=base_url)
    atomic_write_text(run.config_path, yaml.safe_dump(data, sort_keys=False))
    return recorded


def existing(run: RunDir) -> Counter[Captioner]:
    """Who made the captions this run holds now (the newest row per clip, under any config)."""
    columns = ["clip_id", "status", "captioner", "model", "endpoint", "prompt_version"]
    rows = run.table("caption").current("clip_id", None, columns=columns)
    return Counter(Captioner(str(r["captioner"]), str(r.get("model")), r.get("endpoint"), str(r.get("prompt_version")))
                   for r in rows if r.get("captioner") and r.get("status") != "failed")


def _summary(makers: Counter[Captioner]) -> str:
    return "; ".join(f"{count} by {maker.describe()}" for maker, count in makers.most_common(3))


def shell_mismatch(config: CaptionConfig, made: Counter[Captioner]) -> str:
    """Why an unrecorded `auto` config must not run: the shell picks another captioner than the one that
    made this run's captions (a run from before captioners were recorded). Empty when it may run."""
    if is_recorded(config) or not made:
        return ""
    now = identity(config)
    if all(maker.kind == now.kind for maker in made):
        return ""  # another model or prompt is a config change, not the shell's doing
    keep = next(iter(made))
    hint = (f"--set caption.captioner=llm --set caption.base_url=<its endpoint> --set caption.model={keep.model}"
            if keep.kind == "llm" else "--set caption.captioner=rules")
    return (f"this run's captions were made by other captioners ({_summary(made)}), but this shell selects "
            f"{now.describe()} (caption.captioner is auto, which follows {ENV_BASE_URL}). To keep them, run "
            f"with {hint}; to replace them, name the captioner you want explicitly (caption.captioner).")


def replacement_notice(config: CaptionConfig, made: Counter[Captioner]) -> str:
    """What the coming run replaces: captions by another captioner get new ones (old rows stay)."""
    now = identity(config)
    other = Counter({maker: count for maker, count in made.items() if not maker.same_maker(now)})
    if not other:
        return ""
    total = sum(other.values())
    return (f"caption: {total} clip(s) have captions by another captioner ({_summary(other)}); this run captions "
            f"with {now.describe()} as the run's config now says, so they get new captions (the old rows stay "
            "in tables/caption, superseded).")


def environment_notice(config: CaptionConfig) -> str:
    """A note when OPENAI_BASE_URL is set but the run's recorded config decides otherwise."""
    env = os.environ.get(ENV_BASE_URL)
    if not env or not is_recorded(config):
        return ""
    kind, base_url = resolve(config)
    if kind == "llm" and base_url == env:
        return ""
    chosen = f"caption.base_url={base_url}" if kind == "llm" else "caption.captioner=rules"
    return (f"caption: {ENV_BASE_URL} is set but not used: this run's config says {chosen} (recorded in "
            "config.resolved.yaml). Change it with --set caption.captioner=... / caption.base_url=... .")


def row_identity(maker: Captioner) -> dict[str, Any]:
    """The identity columns of a caption row."""
    return {"captioner": maker.kind, "model": maker.model, "endpoint": maker.endpoint,
            "prompt_version": maker.prompt_version}
