"""The public signatures are the seed's (names, order, defaults), for both clients."""

from __future__ import annotations

import ast
import importlib.util
import inspect
from typing import Any

import pytest

from runwatch.api import APIClient, AsyncAPIClient

# Copied verbatim from ../shared/seed/run-api-client-reference.txt.
SEED = {
    "__init__": "credential: dict | None = None, timeout: int | None = None, "
    "max_retry_count: int | None = None",
    "create_run": "organization_id: str, deployment_id: str, version_id: str, "
    "input_data: Dict[str, str] | None = None, output_template: Dict[str, str] | None = None, "
    "distribution: int | None = None, retry_count: int | None = None, "
    "environment: Dict[str, str] | None = None, model_id: str | None = None",
    "get_run": "organization_id: str, deployment_id: str, run_id: str",
    "get_run_logs": "organization_id: str, deployment_id: str, run_id: str, "
    "next_token: str | None = None, start_time: datetime | None = None, "
    "end_time: datetime | None = None",
    "get_run_recent_logs": "organization_id: str, deployment_id: str, run_id: str, "
    "next_forward_token: str | None = None, next_backward_token: str | None = None, "
    "start_time: datetime | None = None, end_time: datetime | None = None",
    "get_runs": "organization_id: str, deployment_id: str, next_page_token: str | None = None, "
    "scan_forward: bool | None = None",
}
_NO_DEFAULT = object()


def seed_params(text: str) -> list[tuple[str, Any]]:
    func = ast.parse(f"def f({text}): pass").body[0]
    assert isinstance(func, ast.FunctionDef)
    args = func.args.args
    defaults = [_NO_DEFAULT] * (len(args) - len(func.args.defaults)) + [
        ast.literal_eval(d) for d in func.args.defaults
    ]
    return [(a.arg, d) for a, d in zip(args, defaults, strict=True)]


def positional_params(func: Any) -> list[tuple[str, Any]]:
    params = list(inspect.signature(func).parameters.values())
    if params and params[0].name == "self":
        params = params[1:]
    return [
        (p.name, _NO_DEFAULT if p.default is inspect.Parameter.empty else p.default)
        for p in params
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]


@pytest.mark.parametrize("client_class", [APIClient, AsyncAPIClient])
@pytest.mark.parametrize("name", list(SEED))
def test_signature_matches_the_seed(client_class: type, name: str) -> None:
    func = getattr(client_class, name)
    assert positional_params(func) == seed_params(SEED[name])
    extra = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.name != "self" and p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    # Anything beyond the seed is keyword-only and optional (base_url, transport, sleep...).
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not inspect.Parameter.empty
        for p in extra
    )


@pytest.mark.parametrize("name", [n for n in SEED if n != "__init__"])
def test_bound_methods_hide_self(name: str) -> None:
    client = APIClient({"auth_token": "t"}, base_url="http://127.0.0.1:9")
    try:
        bound = inspect.signature(getattr(client, name))
        assert [p.name for p in bound.parameters.values()] == [
            n for n, _ in seed_params(SEED[name])
        ]
    finally:
        client.close()


@pytest.mark.parametrize(
    "name",
    [
        *(n for n in SEED if n != "__init__"),
        "get_deployments",
        "get_deployment",
        "get_deployment_versions",
        "get_deployment_version",
    ],
)
def test_async_methods_are_coroutine_functions(name: str) -> None:
    assert inspect.iscoroutinefunction(getattr(AsyncAPIClient, name))
    assert not inspect.iscoroutinefunction(getattr(APIClient, name))


@pytest.mark.skipif(
    importlib.util.find_spec("abeja") is None,
    reason="the official SDK (abeja-sdk, Python < 3.12 only) is not installed",
)
@pytest.mark.parametrize("name", list(SEED))
def test_signature_matches_the_installed_sdk(name: str) -> None:
    from abeja.runs import APIClient as SdkClient  # type: ignore[import-untyped]

    assert positional_params(getattr(APIClient, name)) == positional_params(
        getattr(SdkClient, name)
    )


@pytest.mark.skipif(
    importlib.util.find_spec("abeja") is None,
    reason="the official SDK (abeja-sdk, Python < 3.12 only) is not installed",
)
@pytest.mark.parametrize(
    "name",
    ["get_deployments", "get_deployment", "get_deployment_versions", "get_deployment_version"],
)
def test_deployment_reads_match_the_sdks_deployments_client(name: str) -> None:
    from abeja.deployments import APIClient as SdkDeployments  # type: ignore[import-untyped]

    assert positional_params(getattr(APIClient, name)) == positional_params(
        getattr(SdkDeployments, name)
    )
