"""TLS as users set it up: `runwatch logs` over https on 127.0.0.1, signed by a private CA.

A real TLS server (tests/tls_proxy.py, certificates from the `openssl` tool) fronts the
engine. The CA is trusted through SSL_CERT_FILE, REQUESTS_CA_BUNDLE or a profile's ca_file,
loopback URL or not; without it the certificate is refused at once: one line that names the
URL and the fix, and one connection, never a retry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runwatch.api.errors import TlsRefused
from runwatch.follow.backoff import is_fatal
from tests.cli.test_cli_engine import BURSTS, runwatch
from tests.tls_proxy import Certificates, TlsProxy, make_certificates
from tests.token_server import TokenShapeServer

CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def finished_run(engine: Any) -> tuple[str, str]:
    """A run of 2,000 lines (more than a page: the whole-log read slices it), finished."""
    deployment_id, version_id = engine.deploy_source(BURSTS, name="bursts")
    run = engine.create_run(
        deployment_id,
        version_id,
        input_data={"bursts": 2, "lines": 1000, "pause": 0.05},
        retry_count=0,
    )
    engine.wait_for_status(deployment_id, run["run_id"], "SUCCEEDED")
    return deployment_id, run["run_id"]


@pytest.fixture
def proxy(engine: Any, certificates: Certificates) -> Iterator[TlsProxy]:
    with TlsProxy(engine.url, certificates) as front:
        yield front


def test_logs_over_https_on_loopback_with_a_private_ca(
    engine: Any,
    cli_env: dict[str, str],
    certificates: Certificates,
    finished_run: tuple[str, str],
    proxy: TlsProxy,
    tmp_path: Path,
) -> None:
    deployment_id, run_id = finished_run
    bare = {k: v for k, v in cli_env.items() if k not in CA_ENV}
    bare["ABEJA_API_URL"] = proxy.url
    expected = engine.all_log_messages(deployment_id, run_id)
    assert len(expected) > 2000

    env = {**bare, "SSL_CERT_FILE": str(certificates.ca_file)}
    result = runwatch("logs", run_id, "--deployment", deployment_id, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected

    # Without the CA: refused at once, on one line naming the URL and the fix, no retry.
    before = proxy.accepted
    result = runwatch("logs", run_id, "--deployment", deployment_id, env=bare)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert proxy.url in lines[0] and "SSL_CERT_FILE" in lines[0]
    assert "certificate" in lines[0] and "Traceback" not in result.stderr
    assert proxy.accepted - before == 1


async def test_requests_ca_bundle_and_a_profiles_ca_file_apply_to_loopback(
    certificates: Certificates, tmp_path: Path
) -> None:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.config.settings import resolve_settings

    server = TokenShapeServer("seed")
    run = server.add_run()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.tls]\napi_url = "https://127.0.0.1:1"\nca_file = "{certificates.ca_file}"\n'
    )
    settings = resolve_settings(profile="tls", environ={}, path=config)
    assert settings.ca_file == str(certificates.ca_file)
    try:
        with TlsProxy(server.url, certificates) as proxy:
            for kwargs in (
                {"environ": {"REQUESTS_CA_BUNDLE": str(certificates.ca_file)}},
                {"environ": {}, "ca_file": settings.ca_file},
            ):
                async with AsyncAPIClient(
                    server.credential, base_url=proxy.url, max_retry_count=0, **kwargs
                ) as api:
                    got = await api.get_run(server.organization_id, server.deployment_id, run)
                assert got["run_id"] == run
            async with AsyncAPIClient(
                server.credential, base_url=proxy.url, max_retry_count=3, environ={}
            ) as api:
                with pytest.raises(TlsRefused) as refused:
                    await api.get_run(server.organization_id, server.deployment_id, run)
            assert proxy.url in str(refused.value)
            assert is_fatal(refused.value)
            assert proxy.accepted == 3
    finally:
        server.close()
