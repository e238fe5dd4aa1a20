from __future__ import annotations

from pathlib import Path

from ophora_data.media.detect import parse_spans
from ophora_data.media.ffmpeg import ClipOutput, EncoderSettings, cut_argv, detect_argv, size_filter


def outputs(n: int) -> list[ClipOutput]:
    return [ClipOutput(Path(f"/o/{i}.mp4"), 0.02 + i, 2.02 + i, 0.04 + i, 2.04 + i) for i in range(n)]


def test_seek_cut_seeks_on_the_input_and_encodes_exactly() -> None:
    argv = cut_argv(
        Path("/s.mp4"), 12.34, 3.5, outputs(1), "null", EncoderSettings(crf=23, preset="fast"), False
    )
    assert argv.index("-ss") < argv.index("-i") and argv[argv.index("-ss") + 1] == "12.340000"
    graph = argv[argv.index("-filter_complex") + 1]
    assert "trim=start=0.020000:end=2.020000,setpts=PTS-STARTPTS,null,format=yuv420p[v0]" in graph
    for flag, value in (
        ("-c:v", "libx264"),
        ("-crf", "23"),
        ("-preset", "fast"),
        ("-pix_fmt", "yuv420p"),
        ("-movflags", "+faststart"),
        ("-map_metadata", "-1"),
        ("-fps_mode", "passthrough"),
    ):
        assert argv[argv.index(flag) + 1] == value
    assert "-an" in argv and "[0:a]" not in graph and argv[-1] == "/o/0.mp4"


def test_single_pass_splits_one_decode_into_every_output_with_audio() -> None:
    argv = cut_argv(
        Path("/s.mp4"), 0.0, 9.0, outputs(3), "crop=320:240:0:0", EncoderSettings(audio=True), True
    )
    assert argv.count("-i") == 1 and argv.count("-movflags") == 3
    graph = argv[argv.index("-filter_complex") + 1]
    assert graph.startswith("[0:v]split=3[vs0][vs1][vs2];[0:a]asplit=3[as0][as1][as2]")
    assert "[as2]atrim=start=2.040000:end=4.040000,asetpts=PTS-STARTPTS[a2]" in graph
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-map"] == [
        "[v0]",
        "[a0]",
        "[v1]",
        "[a1]",
        "[v2]",
        "[a2]",
    ]
    assert argv[argv.index("-c:a") + 1] == "aac" and "-an" not in argv


def test_size_filter_crops_odd_pixels_and_scales_otherwise() -> None:
    assert size_filter(320, 240, 320, 240) == "null"
    assert size_filter(321, 241, 320, 240) == "crop=320:240:0:0"
    assert size_filter(1920, 1080, 1280, 720) == "scale=1280:720:flags=bicubic"


def test_encoder_settings_row_names() -> None:
    row = EncoderSettings(crf=18, preset="slow").as_row()
    assert row["encoder_crf"] == 18 and row["encoder_preset"] == "slow" and row["encoder_codec"] == "libx264"
    assert row["pix_fmt"] == "yuv420p"


def test_detect_argv_prints_metadata_to_stdout() -> None:
    argv = detect_argv(Path("/c.mp4"), 0.1, 0.98, -60.0, 0.5)
    vf = argv[argv.index("-vf") + 1]
    assert vf.startswith("blackdetect=d=0:pix_th=0.1:pic_th=0.98,freezedetect=n=-60.0dB:d=0.5,")
    assert vf.endswith(r"metadata=mode=print:file=pipe\\:1")


def test_parse_spans_closes_open_spans_at_the_end() -> None:
    text = (
        "frame:0 pts:0 pts_time:0\nlavfi.black_start=0\nframe:25 pts:1 pts_time:1\nlavfi.black_end=1\n"
        "frame:88 pts:2 pts_time:3.52\nlavfi.black_start=3.5\n"
    )
    assert parse_spans(text, ("lavfi.black_start", "lavfi.black_end"), 5.0) == [(0.0, 1.0), (3.5, 5.0)]
    assert parse_spans("", ("a", "b"), 5.0) == []
