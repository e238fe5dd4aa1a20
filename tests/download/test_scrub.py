from __future__ import annotations

import pytest

from ophora_data.download.scrub import scrub_text, scrub_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.test/v.mp4?token=abc&id=7", "https://x.test/v.mp4?token=***&id=7"),
        ("https://rr1.googlevideo.test/videoplayback?sig=AbC&lsig=x&itag=22",
         "https://rr1.googlevideo.test/videoplayback?sig=***&lsig=***&itag=22"),
        ("https://s3.test/b/k?X-Amz-Signature=ff&X-Amz-Credential=c", "https://s3.test/b/k?X-Amz-Signature=***&X-Amz-Credential=***"),
        ("https://user:pw@host.test/a", "https://***@host.test/a"),
        ("https://www.youtube.com/watch?v=X3jTUYMflCk", "https://www.youtube.com/watch?v=X3jTUYMflCk"),
    ],
)  # fmt: skip
def test_scrub_url(url: str, expected: str) -> None:
    assert scrub_url(url) == expected


def test_scrub_text_masks_headers_urls_and_env_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_" + "a" * 30)
    text = (
        f"failed at https://x.test/v?access_token=zzz\nCookie: SID=cookie-value; HSID=other\ntoken {'hf_' + 'a' * 30}"
    )
    scrubbed = scrub_text(text)
    assert "zzz" not in scrubbed and "cookie-value" not in scrubbed and "hf_aaa" not in scrubbed
    assert "https://x.test/v?access_token=***" in scrubbed and "Cookie: ***" in scrubbed
