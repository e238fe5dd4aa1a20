from __future__ import annotations

from pathlib import Path

import pytest

from ophora_data.config import ConfigError
from ophora_data.config.download import parse_byte_rate
from ophora_data.download.options import format_selector, ytdlp_params
from tests.conftest import make_config


def test_default_format_wants_min_resolution_with_audio_and_prefers_1080p_mp4(tmp_path: Path) -> None:
    cfg = make_config().download
    assert format_selector(cfg) == "bv*[height>=?480][width>=?720]+ba/b[height>=?480][width>=?720]"
    params = ytdlp_params(cfg, tmp_path, logger=None)
    assert params["format_sort"][:2] == ["res:1080", "ext:mp4:m4a"]
    assert params["merge_output_format"] == "mp4" and params["noplaylist"] is True
    assert params["continuedl"] is True and params["nopart"] is False
    assert params["cachedir"] is False and params["ratelimit"] is None and params["cookiefile"] is None
    assert params["writesubtitles"] is False and params["max_filesize"] == 4096 * 2**20


def test_options_follow_the_config(tmp_path: Path) -> None:
    cfg = make_config(
        "download.rate_limit=2M", "download.subtitles=true", "download.auto_subtitles=false",
        "download.require_audio=false", "download.max_height=720", "download.max_filesize_mb=null",
    ).download  # fmt: skip
    params = ytdlp_params(cfg, tmp_path, logger=None, cookiefile="/tmp/c.txt")
    assert params["ratelimit"] == 2 * 2**20 and params["cookiefile"] == "/tmp/c.txt"
    assert params["writesubtitles"] is True and params["writeautomaticsub"] is False
    assert params["format_sort"][0] == "res:720" and params["max_filesize"] is None
    assert format_selector(cfg).endswith("/bv*[height>=?480][width>=?720]")
    assert {"key": "FFmpegSubtitlesConvertor", "format": "vtt", "when": "before_dl"} in params["postprocessors"]
    assert make_config("download.format=best").download.format == "best"
    assert format_selector(make_config("download.format=bv*+ba").download) == "bv*+ba"


@pytest.mark.parametrize(("text", "rate"), [("500", 500), ("50K", 51200), ("1.5M", 1572864), ("2MiB/s", 2097152)])
def test_parse_byte_rate(text: str, rate: int) -> None:
    assert parse_byte_rate(text) == rate


def test_bad_rate_limit_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="download.rate_limit"):
        make_config("download.rate_limit=fast")
