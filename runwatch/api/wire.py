"""What goes on the wire and what comes back, shared by the sync and async clients.

Nothing here does I/O. `exchange()` is a generator that yields `Send` and `Sleep` actions and
is fed back the response (or the transport exception); the sync and async clients only carry
those actions out. So the request building, the retry policy and the response/error handling
exist exactly once.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import urlencode, urlsplit

import httpx

from runwatch.api.connection_config import (
    API_URL_ENV,
    DEFAULT_BASE_URL,
    USER_AGENT,
    auth_header,
    credential_from_env,
    is_loopback,
    resolve_max_retry_count,
    resolve_timeout,
    resolve_verify,
    safe_url,
)
from runwatch.api.errors import (
    ApiError,
)
from runwatch.api.request_spec import RequestSpec
from runwatch.api.responses import (
    JsonDict,
    decode_body,
    http_error,
    text_excerpt,
    tls_refusal,
    transport_error,
    transport_reason,
)
from runwatch.api.retries import RetryPolicy, retry_delay

# ---------------------------------------------------------------- the exchange


@dataclass(frozen=True, slots=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Action: TypeAlias = Send | Sleep
Exchange: TypeAlias = Generator[Action, "httpx.Response | httpx.RequestError | None", JsonDict]


class Core:
    """Everything both clients hold: base URL, headers, timeout, retry policy, secrets."""

    def __init__(
        self,
        credential: Mapping[str, str] | None,
        timeout: float | None,
        max_retry_count: int | None,
        *,
        base_url: str | None = None,
        environ: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        on_retry: Callable[[str], None] | None = None,
        ca_file: str | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        if credential is None:
            credential = credential_from_env(env)
        auth, secrets = auth_header(credential)
        # Compressed answers, as the SDK's requests asks for: a page of 1,000 log events is
        # ~140 kB of JSON, a fifth of that gzipped, over a user's link to the platform (the
        # body's size cap counts the decoded bytes).
        self.headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", **auth}
        self.base_url = (base_url or env.get(API_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        password = urlsplit(self.base_url).password
        self.secrets = (*secrets, password) if password else secrets
        # Proxy variables apply (as with the SDK's requests), except to a loopback engine: a
        # corporate HTTP_PROXY without NO_PROXY=127.0.0.1 would otherwise break the local engine.
        self.trust_env = not is_loopback(self.base_url)
        # The CA settings, though, apply to every URL: an https engine or tunnel on 127.0.0.1
        # is trusted the way the user set up, not only a remote one.
        self.verify = resolve_verify(ca_file, env)
        self.timeout = resolve_timeout(timeout, env)
        self.policy = RetryPolicy(max_retries=resolve_max_retry_count(max_retry_count, env))
        self.rng = rng or random.Random()
        # Told (one safe line) before each retry: a command line user waiting through
        # timeouts and retries would otherwise see nothing for minutes.
        self.on_retry = on_retry

    def build(self, spec: RequestSpec) -> httpx.Request:
        url = self.base_url + spec.path
        if spec.params:
            # `requests` encodes params with urlencode (quote_plus); so do we, byte for byte.
            url += "?" + urlencode(list(spec.params.items()))
        headers = dict(self.headers)
        content: bytes | None = None
        if spec.json is not None:
            # The same serialisation `requests` uses for `json=`.
            content = json.dumps(spec.json, allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            return httpx.Request(
                spec.method,
                url,
                headers=headers,
                content=content,
                extensions={"timeout": httpx.Timeout(self.timeout).as_dict()},
            )
        except httpx.InvalidURL as error:
            # An id no server could accept (a hostile server's 300 kB run id, say).
            where = safe_url(self.base_url) + text_excerpt(spec.path)[:80]
            raise ApiError(f"cannot send {spec.method} {where}: {error}") from None

    def exchange(self, spec: RequestSpec) -> Exchange:
        request = self.build(spec)
        url = safe_url(request.url)
        attempt = 0
        while True:
            attempt += 1
            outcome = yield Send(request)
            if isinstance(outcome, httpx.Response):
                if outcome.is_success:
                    return decode_body(outcome, self.secrets)
                error = http_error(outcome, self.secrets)
                delay = retry_delay(
                    self.policy,
                    attempt=attempt,
                    idempotent=spec.idempotent,
                    status_code=outcome.status_code,
                    retry_after=error.retry_after,
                    rng=self.rng,
                )
                if delay is None:
                    raise error
            elif isinstance(outcome, httpx.RequestError):
                refused = tls_refusal(outcome, spec, url)
                if refused is not None:
                    # A certificate refused now is refused on every try: say so at once.
                    raise refused
                delay = retry_delay(
                    self.policy,
                    attempt=attempt,
                    idempotent=spec.idempotent,
                    error=outcome,
                    rng=self.rng,
                )
                if delay is None:
                    raise transport_error(outcome, spec, url, attempt, self.timeout, self.secrets)
            else:
                raise TypeError(f"unexpected outcome {outcome!r}")
            if self.on_retry is not None:
                what = (
                    f"HTTP {outcome.status_code}"
                    if isinstance(outcome, httpx.Response)
                    else transport_reason(outcome)
                )
                self.on_retry(
                    f"{spec.method} {url}: {what}; retry {attempt} of "
                    f"{self.policy.max_retries} in {delay:.1f}s"
                )
            yield Sleep(delay)
