"""Keep cookies, signed-URL parameters and credentials out of rows and logs.

yt-dlp error messages quote URLs, and platform media URLs carry signatures and tokens;
`ophora_data.run.secrets.redact` covers environment secrets, this covers URL-shaped ones.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ophora_data.run.secrets import MASK, redact

SENSITIVE_PARAMS = frozenset(
    {
        "access_token", "api_key", "apikey", "auth", "authorization", "code", "cookie", "credential",
        "key", "lsig", "password", "pass", "pwd", "secret", "session", "sessionid", "sid", "sig",
        "signature", "token", "x-amz-credential", "x-amz-security-token", "x-amz-signature",
    }
)  # fmt: skip
_URL = re.compile(r"https?://[^\s'\"<>]+", re.IGNORECASE)
_HEADER = re.compile(r"((?:set-)?cookie|authorization)(\s*[:=]\s*)[^\n]+", re.IGNORECASE)


def _sensitive(name: str) -> bool:
    lowered = name.lower()
    return lowered in SENSITIVE_PARAMS or lowered.endswith(("token", "secret", "signature"))


def scrub_url(url: str) -> str:
    """The URL with user:password and sensitive query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _sensitive(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub_text(text: str) -> str:
    """Mask URLs' secrets, cookie/authorization headers and environment secrets in free text."""
    text = _URL.sub(lambda m: scrub_url(m.group(0)), text)
    text = _HEADER.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return redact(text)
