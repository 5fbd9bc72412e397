"""Where and how the clients reach the API: base URL, credential and its header, timeout and
retry count (arguments first, then the SDK's environment variables), and URLs safe to show.
"""

from __future__ import annotations

import base64
import ipaddress
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx

from runwatch import __version__
from runwatch.api.errors import ApiError

DEFAULT_BASE_URL = "https://api.abeja.io"
DEFAULT_CONNECTION_TIMEOUT = 30.0
DEFAULT_MAX_RETRY_COUNT = 5
API_URL_ENV = "ABEJA_API_URL"
TIMEOUT_ENV = "ABEJA_SDK_CONNECTION_TIMEOUT"
MAX_RETRY_ENV = "ABEJA_SDK_MAX_RETRY_COUNT"
USER_AGENT = f"runwatch/{__version__} (+abeja-platform-sdk compatible)"
# Where users point their TLS clients at a private CA, first match wins after a profile's own
# ca_file: `requests` (the SDK) reads REQUESTS_CA_BUNDLE, OpenSSL and httpx SSL_CERT_FILE.
CA_FILE_ENVS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
CA_DIR_ENV = "SSL_CERT_DIR"


def credential_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The SDK's `get_credential()`: token, else user id + PAT, else datasource id + secret."""
    token = environ.get("PLATFORM_AUTH_TOKEN")
    if token:
        return {"auth_token": token}
    user_id = environ.get("ABEJA_PLATFORM_USER_ID")
    pat = environ.get("ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN")
    if user_id and pat:
        return {"user_id": user_id, "personal_access_token": pat}
    ds_id = environ.get("ABEJA_PLATFORM_DATASOURCE_ID")
    ds_secret = environ.get("ABEJA_PLATFORM_DATASOURCE_SECRET")
    if ds_id and ds_secret:
        return {"datasource_id": ds_id, "datasource_secret": ds_secret}
    return {}


def auth_header(credential: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """The SDK's Authorization header for `credential`, and the secret strings it contains.

    Like the SDK, a user id gets the `user-` prefix (and a datasource id `datasource-`) when it
    lacks one; unlike the SDK, the caller's dict is left alone.
    """
    token = credential.get("auth_token")
    if token:
        value = f"Bearer {token}"
        return {"Authorization": value}, (token, value)
    for id_key, secret_key, prefix in (
        ("user_id", "personal_access_token", "user-"),
        ("datasource_id", "datasource_secret", "datasource-"),
    ):
        ident, secret = credential.get(id_key), credential.get(secret_key)
        if ident and secret:
            if not ident.startswith(prefix):
                ident = prefix + ident
            encoded = base64.b64encode(f"{ident}:{secret}".encode()).decode()
            return {"Authorization": f"Basic {encoded}"}, (secret, encoded)
    return {}, ()


def resolve_verify(ca_file: str | None, environ: Mapping[str, str]) -> ssl.SSLContext | bool:
    """How the server's certificate is checked, for every URL, loopback included: against
    `ca_file` (a profile's), else $REQUESTS_CA_BUNDLE, else $SSL_CERT_FILE, else
    $SSL_CERT_DIR, else the bundled CAs (True)."""
    source = "the profile's ca_file" if ca_file else ""
    for name in CA_FILE_ENVS:
        if not ca_file and environ.get(name):
            ca_file, source = environ[name], f"${name}"
    ca_dir = None if ca_file else environ.get(CA_DIR_ENV) or None
    if not ca_file and not ca_dir:
        return True
    try:
        return ssl.create_default_context(cafile=ca_file, capath=ca_dir)
    except (OSError, ssl.SSLError) as error:
        what = f"{ca_file} ({source})" if ca_file else f"{ca_dir} (${CA_DIR_ENV})"
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or "unusable"
        raise ApiError(f"cannot use the CA certificates in {what}: {reason}") from None


def resolve_timeout(timeout: float | None, environ: Mapping[str, str]) -> float:
    """`timeout or $ABEJA_SDK_CONNECTION_TIMEOUT or 30`, as the SDK does (so 0 means default)."""
    if timeout:
        return float(timeout)
    raw = environ.get(TIMEOUT_ENV)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
        if value > 0:
            return value
    return DEFAULT_CONNECTION_TIMEOUT


def resolve_max_retry_count(max_retry_count: int | None, environ: Mapping[str, str]) -> int:
    """`max_retry_count`, else $ABEJA_SDK_MAX_RETRY_COUNT, else 5. Here 0 means no retries."""
    if max_retry_count is not None:
        if max_retry_count < 0:
            raise ValueError("max_retry_count must be >= 0")
        return int(max_retry_count)
    raw = environ.get(MAX_RETRY_ENV)
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            raise ValueError(f"{MAX_RETRY_ENV} must be an integer, got {raw!r}") from None
    return DEFAULT_MAX_RETRY_COUNT


def safe_url(url: str | httpx.URL) -> str:
    """The URL without userinfo, query or fragment: fit for an exception message or a log."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
