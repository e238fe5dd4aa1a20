from __future__ import annotations

import pytest

from ophora_data.download.progress import ByteProgress


def test_hooks_turn_cumulative_counts_into_bytes() -> None:
    progress = ByteProgress(enabled=False)
    video, audio = progress.hook(), progress.hook()
    for done in (100, 250, 250):
        video({"filename": "video.f1.mp4", "downloaded_bytes": done, "status": "downloading"})
    audio({"filename": "video.f2.m4a", "downloaded_bytes": 40, "status": "finished"})
    progress.video_done()
    assert (progress.bytes, progress.videos) == (290, 1)
    progress.close()


def test_cancel_stops_downloads_at_their_next_block() -> None:
    progress = ByteProgress(enabled=False)
    hook = progress.hook()
    hook({"filename": "v.mp4", "downloaded_bytes": 10})
    progress.cancel()
    with pytest.raises(KeyboardInterrupt):
        hook({"filename": "v.mp4", "downloaded_bytes": 20})
    assert progress.bytes == 10
