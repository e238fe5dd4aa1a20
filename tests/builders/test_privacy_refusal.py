"""`build` refuses a kept clip whose redaction the real privacy stage could not verify.

The chain end to end: a portrait clip redacted with a blur too weak to hide the face -> the
stage's verification fails (after max_passes) -> its rows say so -> a decision that still
keeps the clip (a stale or hand-edited decide table) -> `build` refuses, naming the clip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from builders.guards import ReleaseRefused
from builders.release import build_release
from ophora_data.stages.privacy import PrivacyStage
from tests.builders.runfactory import ClipSpec, default_specs, make_release_run, release_config, write_rows
from tests.privacy.helpers import still_video
from tests.privacy.realfixtures import ASTRONAUT

FACE_CLIP = "vidFACEFACE_0"


@pytest.mark.parametrize("blur_strength", [0.002, 0.25])
def test_build_refuses_a_kept_clip_whose_face_survived_redaction(realdata: Path, tmp_path: Path,
                                                               blur_strength: float) -> None:
    config = release_config("privacy.text_detector=none", "privacy.max_passes=2",
                            f"privacy.blur_strength={blur_strength}")
    specs = [*default_specs()[:2], ClipSpec(FACE_CLIP, "vidFACEFACE", "Show the surgeon.", strict=False)]
    run = make_release_run(tmp_path / "run", config, specs)
    source = still_video(realdata / ASTRONAUT, tmp_path / "astronaut.mp4", seconds=0.5)
    # The real stage, called as the executor would; its rows replace the crafted ones for the clip.
    stage = PrivacyStage(config, run)
    stage.setup()
    rows = stage.process({"clip_id": FACE_CLIP, "video_id": "vidFACEFACE", "path": str(source)})
    write_rows(run, config, "privacy", rows)
    verification = next(r for r in rows if r["check"] == "verification")
    if blur_strength < 0.01:  # sigma of 1 px: the face is still a face
        assert verification["passed"] is False and verification["passes"] == 2
        with pytest.raises(ReleaseRefused) as err:
            build_release(run, config)
        assert f"{FACE_CLIP}: privacy verification did not pass" in str(err.value)
        assert not run.release_dir.exists()
    else:  # the default blur: verified, and the same release builds
        assert verification["passed"] is True, verification["reason"]
        result = build_release(run, config)
        assert result.counts["default"] == 3
