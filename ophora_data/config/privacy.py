from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ophora_data.config.base import Section


class PrivacyConfig(Section):
    # Not in the stage's config hash: it cannot change a clip's rows or pixels (the frames kept in
    # memory are the ones a second decode gives: tests/privacy/test_redact.py), so changing it does
    # not redo finished clips, and a run made before it existed keeps its hash. (timeout_s is
    # hashed, as it always was: leaving it out now would redo the privacy stage of every such run.)
    HASH_EXCLUDE: ClassVar[frozenset[str]] = frozenset({"frame_memory_mb"})

    mode: Literal["blur", "drop"] = Field(
        "blur", description="blur: redact detections and publish the redacted clip; "
                            "drop: reject any clip with a detection (no redaction)")
    every_n_frames: int = Field(8, ge=1, description="faces are looked for on every n-th frame (8: a face on screen "
                                                     "for a third of a second at 24-30 fps is seen at least once; a "
                                                     "person crossing the real silent film is visible for 9 frames), "
                                                     "text on them only where the coarse scan asks (docs/privacy.md)")
    coarse_every_s: float = Field(
        0.8333, ge=0, description="coarse scan: text is looked for on whole frames every this many seconds (5/6 s: "
                                  "the shortest subtitle event of Netflix's timed-text style guide, so every "
                                  "subtitle is seen at least once); between two samples only what changed is "
                                  "looked at every_n_frames (0: text on every every_n_frames-th frame too)")
    match_iou: float = Field(0.3, gt=0, le=1, description="boxes at two samples overlapping this much (IoU) are "
                                                           "one face or overlay: the frames between get the box "
                                                           "around both, without detecting again")
    change_ratio: float = Field(4.0, gt=1, description="an abrupt change (a cut, an overlay switching on or off) "
                                                       "changes the shrunk picture this many times the clip's "
                                                       "median change; two between coarse samples: look at every "
                                                       "fine frame between")
    change_floor: float = Field(0.5, ge=0, description="abrupt changes need at least this mean change in grey "
                                                       "levels (of 255) of the 8x shrunk luma")
    static_change: float = Field(2.0, ge=0, description="a frame whose 8x shrunk luma differs nowhere by this many "
                                                        "grey levels from the last frame a detector looked at gets "
                                                        "its boxes without a look (0: always look)")
    verify_every_n_frames: int | None = Field(
        None, ge=1, description="deprecated, ignored: verification re-checks exactly the sampled frames that "
                                "had detections (the only frames redaction changed)")
    verify_margin: float = Field(1.0, ge=0, description="verification looks again around each blurred box, this "
                                                        "many times its short side on every side (at least 16 px)")
    batch_size: int = Field(1, ge=1, description="frames per detector call (one onnxruntime run for text). On the "
                                                 "CPU one frame is cheapest: PP-OCR at 960x544 measured 113 ms a frame "
                                                 "alone, 121 ms in batches of 4 (the feature maps of one frame stay in "
                                                 "cache); memory grows with it (2 GB peak with 8 at 960 px)")
    frame_memory_mb: int = Field(
        512, ge=0, description="a clip whose decoded frames fit in this many MB (I420: 1.4 MB a 720p frame, "
                               "3.1 MB at 1080p) keeps them from the scan for its redaction instead of being "
                               "decoded again; per worker (0: always decode again)")
    detector_threads: int = Field(
        1, ge=1, description="threads per detector (onnxruntime, OpenMP); the executor's --workers use the cores")
    max_passes: int = Field(2, ge=1, description="redact again (adding what verification still found) "
                                                 "up to this many times before the check fails")
    # Faces -------------------------------------------------------------------------------
    face_detector: Literal["yunet", "haar", "none"] = Field(
        "yunet", description="yunet: YuNet DNN (libfacedetection from the yuface wheel, or OpenCV's FaceDetectorYN "
                             "with yunet_model_path); haar: OpenCV's frontal cascade (fallback)")
    haar_cascade: str = Field("haarcascade_frontalface_default.xml",
                              description="a file in cv2.data.haarcascades, or a path")
    face_min_neighbors: int = Field(8, ge=1, description="Haar: higher = fewer false faces")
    face_scale_factor: float = Field(1.1, gt=1.0)
    face_min_size_px: int = Field(20, ge=8, description="smallest face, in pixels of the detection image")
    face_max_side: int = Field(640, ge=64, description="frames are downscaled to this long side for faces")
    yunet_model_path: str | None = Field(
        None, description="a local face_detection_yunet_*.onnx run by cv2.FaceDetectorYN instead of yuface")
    yunet_score_threshold: float = Field(
        0.65, gt=0, lt=1, description="YuNet faces need this score; 0.65 is above the 0.64 YuNet gives the eye "
                                      "in the real 224 px Cataract-1K clip, and keeps small film faces")
    yunet_track_threshold: float = Field(
        0.5, gt=0, lt=1, description="hysteresis: a YuNet face scoring at least this counts where it continues "
                                     "(same place, match_iou) a face that scored yunet_score_threshold at a "
                                     "neighbouring sample; one frame at 0.6 does not leave a person unblurred")
    # Burned-in text ----------------------------------------------------------------------
    text_detector: Literal["ppocr", "tesseract", "none"] = Field(
        "ppocr", description="ppocr: PP-OCRv4 DBNet text detection (ONNX from the rapidocr-onnxruntime wheel); "
                             "tesseract: Tesseract word boxes (fallback)")
    ppocr_long_side: int = Field(960, ge=64, description="PP-OCR: frames are scaled to this long side")
    ppocr_max_upscale: float = Field(3.0, ge=1.0, description="PP-OCR: small frames are enlarged at most this "
                                                               "much (handwriting and thin text need it)")
    ppocr_box_threshold: float = Field(0.5, gt=0, lt=1, description="PP-OCR: mean text probability of a region")
    ppocr_min_aspect: float = Field(
        1.6, ge=1.0, description="PP-OCR: a region's long/short side ratio must reach this; round blobs (the pupil "
                                 "and its reflections on small surgical frames) are not lines of text")
    text_min_confidence: float = Field(60.0, ge=0, le=100)
    text_min_chars: int = Field(3, ge=1, description="alphanumeric characters a word needs (drops "
                                                     "Tesseract's 1-2 letter noise on textures)")
    text_views: tuple[Literal["gray", "bright"], ...] = Field(
        ("gray", "bright"), min_length=1,
        description="images OCR'd per frame: gray, and bright (pixels above text_bright_threshold as "
                    "black on white: white overlays such as timestamps and subtitles on busy footage)")
    text_bright_threshold: int = Field(180, ge=1, le=254)
    text_max_side: int = Field(1280, ge=64, description="Tesseract: frames are downscaled to this long side")
    text_psm: int = Field(11, ge=0, le=13, description="Tesseract page segmentation mode (11: sparse text)")
    # Redaction ---------------------------------------------------------------------------
    blur: Literal["gaussian", "pixelate"] = "gaussian"
    blur_strength: float = Field(0.25, gt=0, le=2.0,
                                 description="gaussian sigma as a fraction of the box's short side")
    pixelate_blocks: int = Field(6, ge=1, description="pixelate: blocks across the box's short side")
    box_dilation: float = Field(0.15, ge=0, description="grow boxes by this fraction on every side")
    hold_frames: int | None = Field(
        None, ge=0, description="a box covers this many frames before and after its detection; "
                                "default every_n_frames (no gap between samples is left unblurred)")
    crf: int = Field(18, ge=0, le=51)
    preset: str = "veryfast"
    timeout_s: float = Field(600.0, gt=0, description="limit for one ffmpeg encode")

    @property
    def hold(self) -> int:
        return self.every_n_frames if self.hold_frames is None else self.hold_frames
