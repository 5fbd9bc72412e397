"""The top line names where the API came from; an organization known by name is looked up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runwatch.config import ApiSource
from tests.tui.conftest import make_app, settings_for, wait_for


@pytest.mark.parametrize(
    ("source", "label"),
    [
        (ApiSource("env", "ABEJA_API_URL"), "env ABEJA_API_URL"),
        (ApiSource("profile", "prod"), "profile prod"),
        (ApiSource("abeja", "default", "~/.abeja/config"), "abeja config default"),
        (ApiSource("local"), "local engine"),
    ],
)
async def test_the_top_line_names_the_source(
    engine: Any, tmp_path: Path, source: ApiSource, label: str
) -> None:
    app = make_app(engine, tmp_path, settings=settings_for(engine, api_source=source))
    async with app.run_test(size=(160, 36), notifications=True) as pilot:
        bar = app.main.status_bar
        await wait_for(pilot, lambda: "live" in bar.describe(), what="live")
        line = bar.describe()
        assert f"{label} · {engine.url}" in line
        assert "profile local" not in line


async def test_an_organization_name_is_looked_up_before_polling(
    engine: Any, tmp_path: Path
) -> None:
    deployment_id, version_id = engine.deploy_source(
        "def handler(i, c):\n    print('x')\n", name="by-name"
    )
    run_id = engine.create_run(deployment_id, version_id)["run_id"]
    settings = settings_for(
        engine,
        organization_id=None,
        organization_name="runwatch-local",
        deployment_id=deployment_id,
        api_source=ApiSource("abeja", "default"),
    )
    app = make_app(engine, tmp_path, settings=settings)
    async with app.run_test(size=(160, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.table.row_count == 1, what="the run")
        assert app.session.organization_id == engine.organization_id
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="the selection")
        assert "abeja config default" in main.status_bar.describe()


async def test_an_unknown_organization_name_says_so(engine: Any, tmp_path: Path) -> None:
    settings = settings_for(engine, organization_id=None, organization_name="nope")
    app = make_app(engine, tmp_path, settings=settings)
    async with app.run_test(size=(160, 36), notifications=True) as pilot:
        bar = app.main.status_bar
        await wait_for(pilot, lambda: "not found" in bar.describe(), what="the failure")
        assert "organization 'nope' not found" in bar.describe()
        assert app.session.client is None
