"""Temporal smoothing: detections on sampled frames become boxes on every frame.

Detectors run on every n-th frame, and they flicker (a face found in frame 10 may be
missed in frame 15 though it is still there). Each box is therefore *held* for `hold`
frames before and after the frame it was found in, and *dilated* so that motion within
that window stays covered. With `hold >= every_n` every frame between two samples gets
the boxes of both neighbouring samples: a face or caption never flashes unblurred.
"""

from __future__ import annotations

from ophora_data.privacy.boxes import Box, ClipDetections


def boxes_per_frame(detections: ClipDetections, hold: int, dilation: float) -> list[list[Box]]:
    """A list of boxes for each frame 0..total_frames-1 (empty lists where nothing is near)."""
    total = detections.total_frames
    frames: list[list[Box]] = [[] for _ in range(total)]
    for index, boxes in detections.frames.items():
        grown = [box.dilated(dilation, detections.width, detections.height) for box in boxes]
        grown = [box for box in grown if box.w > 0 and box.h > 0]
        if not grown:
            continue
        for frame in range(max(0, index - hold), min(total, index + hold + 1)):
            frames[frame].extend(grown)
    return frames


def frames_blurred(per_frame: list[list[Box]]) -> int:
    return sum(1 for boxes in per_frame if boxes)
