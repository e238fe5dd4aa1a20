from __future__ import annotations

import pytest

from ophora_data.run.ids import UnusableSource, clip_id, is_valid_id, video_id_of_clip, youtube_video_id

FORMS = [
    "https://www.youtube.com/watch?v=X3jTUYMflCk",
    "https://youtube.com/watch?v=X3jTUYMflCk&t=42s&pp=abc%3D",
    "http://m.youtube.com/watch?feature=share&v=X3jTUYMflCk",
    "https://youtu.be/X3jTUYMflCk?si=HROqo7yRTnzffEka",
    "https://www.youtube.com/shorts/X3jTUYMflCk",
    "https://www.youtube.com/embed/X3jTUYMflCk?start=3",
    "https://www.youtube-nocookie.com/embed/X3jTUYMflCk",
    "www.youtube.com/watch?v=X3jTUYMflCk",
    "https://www.youtube.com/watch?v=X3jTUYMflCk&list=PL88gdqtVPZep0oIpxOP1AStJPK0-Q2hEj",
]


@pytest.mark.parametrize("url", FORMS)
def test_every_common_youtube_form_normalises(url: str) -> None:
    assert youtube_video_id(url) == "X3jTUYMflCk"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://youtube.com/playlist?list=PLjgfi4kp5BU7Lxk_O9GLCFzjXITHVonC0", "playlist"),
        ("https://www.youtube.com/@SomeChannel", "names no video"),
        ("https://www.youtube.com/watch?v=short", "malformed"),
    ],
)
def test_unusable_youtube_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(UnusableSource, match=reason):
        youtube_video_id(url)


def test_non_youtube_url_is_not_claimed() -> None:
    assert youtube_video_id("https://example.org/video.mp4") is None


def test_clip_ids_are_readable_and_reversible() -> None:
    assert clip_id("X3jTUYMflCk", 26) == "X3jTUYMflCk_26"
    assert video_id_of_clip("local-abc_def_3") == "local-abc_def"
    assert is_valid_id("X3jTUYMflCk_26") and not is_valid_id("a.b")
