"""`--deployment NAME` in every command, as a user runs them against a real engine.

`cli_env` points the commands at the engine through ABEJA_API_URL, the way a remote API is
given; the local engine's `demo` deployment must be found by its name through the same lookup.
The commands run in-process (`in_process`): the lookup does not depend on the process, and
tests/cli/test_cli_engine.py runs the same commands as subprocesses.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import InProcess

QUICK = "def handler(input_data, context):\n    print('hello from', context['deployment_id'])\n"
SLEEPER = "import time\n\ndef handler(input_data, context):\n    time.sleep(120)\n"


def test_every_command_takes_a_deployment_name(
    engine: Any, cli_env: dict[str, str], in_process: InProcess
) -> None:
    deployment_id, version_id = engine.deploy_source(QUICK, name="mnist-train")
    _, sleeper = engine.deploy_source(SLEEPER, name="mnist-train", deployment_id=deployment_id)
    # More runs than one page of the runs list (50): all but the last wait on queue 0 behind
    # one that sleeps (listing them does not need 53 processes); the last runs on queue 1.
    run_ids = [engine.create_run(deployment_id, sleeper, distribution=0)["run_id"]]
    run_ids += [
        engine.create_run(deployment_id, version_id, retry_count=0, distribution=0)["run_id"]
        for _ in range(51)
    ]
    run_ids.append(
        engine.create_run(deployment_id, version_id, retry_count=0, distribution=1)["run_id"]
    )
    listed = in_process("runs", "--json", "--all", "--deployment", "mnist-train", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    assert sorted(json.loads(line)["run_id"] for line in listed.stdout.splitlines()) == run_ids
    assert listed.stderr == ""

    run_id = run_ids[-1]
    engine.wait_for_status(deployment_id, run_id, "SUCCEEDED")
    shown = in_process("runs", "get", run_id, "--json", "--deployment", "mnist-train", env=cli_env)
    assert json.loads(shown.stdout)["deployment_id"] == deployment_id, shown.stderr
    logs = in_process("logs", run_id, "--deployment", "mnist-train", env=cli_env)
    assert logs.returncode == 0, logs.stderr
    assert f"hello from {deployment_id}" in logs.stdout.splitlines()
    watched = in_process("watch", run_id, "--deployment", "mnist-train", env=cli_env)
    assert watched.returncode == 0 and watched.stdout.split()[-1] == "SUCCEEDED"
    submitted = in_process(
        "submit", "--version", version_id, "--deployment", "mnist-train", env=cli_env
    )
    assert submitted.returncode == 0, submitted.stderr
    assert engine.get_run(deployment_id, submitted.stdout.strip())["deployment_id"] == (
        deployment_id
    )


def test_the_demo_deployment_by_name_against_a_remote_url(
    engine: Any, cli_env: dict[str, str], in_process: InProcess
) -> None:
    demo = engine.demo_deployment_id
    run_id = engine.create_run(demo, engine.demo_versions["broken"], retry_count=0)["run_id"]
    result = in_process("runs", "--json", "--deployment", "demo", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["run_id"] for line in result.stdout.splitlines()] == [run_id]
    # The same through the local engine's engine.env (no ABEJA_API_URL).
    env = {k: v for k, v in cli_env.items() if not k.startswith(("ABEJA_", "PLATFORM_"))}
    env["RUNWATCH_DATA_DIR"] = str(engine.data_dir)
    local = in_process("runs", "--json", "--deployment", "demo", env=env)
    assert local.returncode == 0, local.stderr
    assert [json.loads(line)["run_id"] for line in local.stdout.splitlines()] == [run_id]


def test_an_ambiguous_or_unknown_name_is_one_line(
    engine: Any, cli_env: dict[str, str], in_process: InProcess
) -> None:
    first, _ = engine.deploy_source(QUICK, name="twin")
    second, _ = engine.deploy_source(QUICK, name="twin")
    result = in_process("runs", "--deployment", "twin", env=cli_env)
    assert result.returncode == 2
    assert result.stderr == (
        f"runwatch: error: 2 deployments are named 'twin': {first}, {second}; "
        "give one of these ids\n"
    )
    # Either id works.
    assert in_process("runs", "--deployment", second, env=cli_env).returncode == 0
    missing = in_process("logs", "run-1", "--deployment", "no-such-name", env=cli_env)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "no deployment named 'no-such-name' or with that id" in missing.stderr
    assert "Traceback" not in missing.stderr and engine.token not in missing.stderr


def test_deployments_lists_names_and_creators(
    engine: Any, cli_env: dict[str, str], in_process: InProcess
) -> None:
    deployment_id, version_id = engine.deploy_source(QUICK, name="mnist-train")
    listed = in_process("deployments", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:4] == ["NAME", "DEPLOYMENT", "ID", "CREATOR"]
    assert [row.split()[:2] for row in rows] == [
        ["demo", engine.demo_deployment_id],
        ["mnist-train", deployment_id],
    ]
    with engine.client() as client:
        served = client.get(f"/organizations/{engine.organization_id}/deployments").json()
    assert rows[1].split()[2] == served["entries"][1]["creator"]["display_name"]
    as_json = in_process("deployments", "--json", env=cli_env)
    assert [json.loads(line)["name"] for line in as_json.stdout.splitlines()] == [
        "demo",
        "mnist-train",
    ]
    one = in_process("deployments", "--deployment", "mnist-train", env=cli_env)
    assert one.returncode == 0, one.stderr
    assert version_id in one.stdout and "main:handler" in one.stdout
    one_json = json.loads(
        in_process("deployments", "--json", "--deployment", deployment_id, env=cli_env).stdout
    )
    assert one_json["name"] == "mnist-train"
    assert [v["version_id"] for v in one_json["versions"]] == [version_id]


def test_deploy_adds_a_version_to_a_deployment_named(
    engine: Any, cli_env: dict[str, str], in_process: InProcess, tmp_path: Any
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text(QUICK)
    mnist, _ = engine.deploy(code, "mnist-train")
    engine.deploy(code, "twin")
    engine.deploy(code, "twin")
    data_dir = str(engine.data_dir)
    added = in_process(
        "deploy", str(code), "--deployment", "mnist-train", "--data-dir", data_dir, "--json",
        env=cli_env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["deployment_id"] == mnist
    ambiguous = in_process(
        "deploy", str(code), "--deployment", "twin", "--data-dir", data_dir, env=cli_env
    )
    assert ambiguous.returncode != 0
    assert "2 deployments are named 'twin'" in ambiguous.stderr
    assert ambiguous.stderr.count("\n") == 1
