"""What counts as a secret, and how one is shown: masked, never in full.

Shared by `runwatch config`, the dashboard's forms and the settings' `masked()` view.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["looks_secret", "mask_secret", "url_without_userinfo"]

# Substrings that mark a secret anywhere in a name, and words that do so only on their own
# ("KEY" in "API_KEY" but not in "MONKEY", "PAT" but not "PATH").
_SECRET_PARTS = ("SECRET", "TOKEN", "PASSWORD", "CREDENTIAL", "APIKEY", "PRIVATE")
_SECRET_WORDS = frozenset({"KEY", "PASS", "PASSWD", "PAT", "PWD", "AUTH"})


def looks_secret(name: str) -> bool:
    """Whether a setting or variable called `name` should be masked when shown."""
    upper = name.upper()
    if any(part in upper for part in _SECRET_PARTS):
        return True
    return bool(set(re.split(r"[^A-Z0-9]+", upper)) & _SECRET_WORDS)


def mask_secret(value: str) -> str:
    """Enough to tell two secrets apart, never enough to use one: `****wxyz` (or `****`)."""
    if not value:
        return ""
    if len(value) >= 16:
        return "****" + value[-4:]
    return "****"


def url_without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="****@" + parts.netloc.rsplit("@", 1)[1]))
