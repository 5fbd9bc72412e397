"""A platform user's credentials, kept the abeja CLI's way, as runwatch finds them (in-process).

A clean HOME holding only ~/.abeja/config (or only ABEJA_CLI_* variables) and a real engine
that answers GET /organizations/<name> as the hosted API does for the abeja CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CLIENT_ENV_VARS, InProcess

HANDLER = "def handler(input_data, context):\n    print('hello from the run')\n"
# The engine's one organization is called this (runwatch/engine/common.py).
ORGANIZATION_NAME = "runwatch-local"
DEAD_URL = "http://127.0.0.1:9"


@pytest.fixture
def clean_env(cli_env: dict[str, str]) -> dict[str, str]:
    """cli_env without the engine's variables: nothing names the API but what a test adds."""
    return {k: v for k, v in cli_env.items() if k not in CLIENT_ENV_VARS}


@pytest.fixture
def a_run(engine: Any) -> tuple[str, str]:
    deployment_id, version_id = engine.deploy_source(HANDLER, name="abeja-user")
    run_id = engine.create_run(deployment_id, version_id)["run_id"]
    engine.wait_for_status(deployment_id, run_id, "SUCCEEDED")
    return deployment_id, run_id


def write_abeja_config(env: dict[str, str], data: Any) -> Path:
    path = Path(env["HOME"]) / ".abeja" / "config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def configuration(engine: Any, url: str | None = None) -> dict[str, str]:
    # The engine takes any user with its token as the Basic password; the user id goes out as
    # `user-<id>` (tests/config/test_abeja_config.py checks the header itself).
    return {
        "abeja-platform-user": "1122334455667",
        "personal-access-token": engine.token,
        "organization-name": ORGANIZATION_NAME,
        "abeja-api-url": url or engine.url,
    }


def listed_run_ids(stdout: str) -> list[str]:
    return [json.loads(line)["run_id"] for line in stdout.splitlines()]


def test_only_an_abeja_config_in_home(
    engine: Any, clean_env: dict[str, str], a_run: tuple[str, str], in_process: InProcess
) -> None:
    deployment_id, run_id = a_run
    write_abeja_config(clean_env, configuration(engine))
    result = in_process("runs", "--deployment", deployment_id, "--json", env=clean_env)
    assert result.returncode == 0, result.stderr
    assert listed_run_ids(result.stdout) == [run_id]
    assert result.stderr == ""
    # The organization's name became its id: the run's own read uses it.
    result = in_process("logs", run_id, "--deployment", deployment_id, env=clean_env)
    assert result.returncode == 0, result.stderr
    assert "hello from the run" in result.stdout


def test_an_unknown_organization_name_is_one_line(
    engine: Any, clean_env: dict[str, str], a_run: tuple[str, str], in_process: InProcess
) -> None:
    write_abeja_config(clean_env, {**configuration(engine), "organization-name": "nope"})
    result = in_process("runs", "--deployment", a_run[0], env=clean_env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "organization 'nope' not found" in result.stderr
    assert engine.token not in result.stderr


def test_the_abeja_cli_variables(
    engine: Any, clean_env: dict[str, str], a_run: tuple[str, str], in_process: InProcess
) -> None:
    env = {
        **clean_env,
        "ABEJA_API_URL": engine.url,
        "ABEJA_CLI_USER": "1122334455667",
        "ABEJA_CLI_TOKEN": engine.token,
        "ABEJA_CLI_ORGANIZATION": ORGANIZATION_NAME,
    }
    result = in_process("runs", "--deployment", a_run[0], "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert listed_run_ids(result.stdout) == [a_run[1]]


def test_profile_names_an_abeja_configuration(
    engine: Any, clean_env: dict[str, str], a_run: tuple[str, str], in_process: InProcess
) -> None:
    write_abeja_config(
        clean_env,
        {
            **configuration(engine, DEAD_URL),
            "configurations": [{**configuration(engine), "configuration-name": "engine"}],
        },
    )
    result = in_process("runs", "--profile", "engine", "--deployment", a_run[0], env=clean_env)
    assert result.returncode == 0, result.stderr
    assert a_run[1] in result.stdout
    result = in_process("--profile", "engine", "runs", "--deployment", a_run[0], env=clean_env)
    assert result.returncode == 0, result.stderr


def test_local_beats_a_configured_abeja_cli(
    engine: Any, clean_env: dict[str, str], a_run: tuple[str, str], in_process: InProcess
) -> None:
    # The abeja CLI points somewhere dead; the local engine is the test's engine.
    write_abeja_config(clean_env, configuration(engine, DEAD_URL))
    env = {**clean_env, "RUNWATCH_DATA_DIR": str(engine.data_dir), "ABEJA_SDK_MAX_RETRY_COUNT": "0"}
    assert in_process("runs", "--deployment", a_run[0], env=env).returncode == 2
    for args in (("runs", "--local"), ("--local", "runs")):
        result = in_process(*args, "--deployment", a_run[0], "--json", env=env)
        assert result.returncode == 0, result.stderr
        assert listed_run_ids(result.stdout) == [a_run[1]]


def test_a_broken_abeja_config_is_one_line_and_local_still_works(
    engine: Any, clean_env: dict[str, str], a_run: tuple[str, str], in_process: InProcess
) -> None:
    path = write_abeja_config(clean_env, '{"personal-access-token": "' + engine.token + '",')
    result = in_process("runs", "--deployment", a_run[0], env=clean_env)
    assert result.returncode == 2
    assert result.stderr.startswith("runwatch: error: ") and result.stderr.count("\n") == 1
    assert str(path) in result.stderr and "not valid JSON" in result.stderr
    assert engine.token not in result.stderr and "Traceback" not in result.stderr
    env = {**clean_env, "RUNWATCH_DATA_DIR": str(engine.data_dir)}
    result = in_process("runs", "--local", "--deployment", a_run[0], "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert listed_run_ids(result.stdout) == [a_run[1]]


def test_config_shows_the_sources_and_masks_the_token(
    engine: Any, clean_env: dict[str, str], in_process: InProcess
) -> None:
    write_abeja_config(clean_env, configuration(engine))
    result = in_process("config", env=clean_env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "API from:    abeja config default (~/.abeja/config)" in out
    assert engine.token not in out and engine.token not in result.stderr
    assert f"****{engine.token[-4:]}" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["api_url"].endswith("abeja config default (~/.abeja/config)")
    assert "looked up when connecting (name 'runwatch-local')" in lines["organization_id"]
    assert lines["personal_access_token"].endswith("abeja config default (~/.abeja/config)")
    result = in_process("--local", "config", env=clean_env)
    assert "API from:    local engine" in result.stdout
    result = in_process("config", env={**clean_env, "ABEJA_API_URL": engine.url})
    assert "API from:    env ABEJA_API_URL" in result.stdout
    assert "profile local" not in result.stdout
