"""The dashboard over https on 127.0.0.1 with a private CA: the profile's ca_file is used, and
without it the refused certificate is said at once, naming the URL and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli_tls import CA_ENV
from tests.tls_proxy import TlsProxy, make_certificates
from tests.tui.conftest import make_app, settings_for, wait_for


async def test_the_dashboard_trusts_the_profiles_ca_and_says_when_it_is_missing(
    engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CA_ENV:
        monkeypatch.delenv(name, raising=False)
    certificates = make_certificates(tmp_path / "tls")
    deployment_id, version_id = engine.deploy_source(
        "def handler(input_data, context):\n    print('hello over tls')\n", name="tls"
    )
    run_id = engine.create_run(deployment_id, version_id)["run_id"]
    engine.wait_for_status(deployment_id, run_id, "SUCCEEDED")
    with TlsProxy(engine.url, certificates) as proxy:
        ca_file = str(certificates.ca_file)
        trusted = settings_for(
            engine, api_url=proxy.url, deployment_id=deployment_id, ca_file=ca_file
        )
        app = make_app(engine, tmp_path / "a", settings=trusted)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            view = app.main.log_view
            await wait_for(pilot, lambda: "hello over tls" in view.messages(), what="the log")

        refused = settings_for(engine, api_url=proxy.url, deployment_id=deployment_id)
        app = make_app(engine, tmp_path / "b", settings=refused)
        async with app.run_test(size=(160, 30), notifications=True) as pilot:

            def said() -> str:
                shown = [str(n.message) for n in app._notifications]
                shown.append(str(app.main.status_bar.render()))
                return "\n".join(shown)

            # The status line changes at once; the toast that holds the fix is a message
            # the app handles a moment later.
            await wait_for(
                pilot,
                lambda: "certificate" in said() and "SSL_CERT_FILE" in said(),
                what="the refusal and its fix",
            )
            assert proxy.url in said()
            assert "polling stopped" in str(app.main.status_bar.render())
            accepted = proxy.accepted
            await pilot.pause(1.0)
            # Refused means refused: the dashboard does not knock again and again.
            assert proxy.accepted - accepted <= 1
