"""Deployments: the typed views, and the one lookup by name or id the CLI and dashboard share.

The lookup runs against the real engine (names, ids, an ambiguous name, a name nobody has);
a recording server stands in where the engine cannot answer the way a hosted server may (a
paged list, a list the credential may not read).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_recording_server import Recorded, RecordingServer

from runwatch.api import (
    AmbiguousDeployment,
    APIClient,
    AsyncAPIClient,
    Deployment,
    Forbidden,
    ResponseShapeError,
    UnknownDeployment,
    Version,
    list_deployments,
    match_deployment,
    resolve_deployment,
)

# The SDK's `abeja.deployments` get_deployment sample, word for word.
SDK_DEPLOYMENT = {
    "deployment_id": "1111111111111",
    "name": "deployment_name",
    "creator": {
        "display_name": None,
        "email": "platform-support@abeja.asia",
        "id": "1111111111111",
        "is_registered": True,
        "role": "admin",
        "created_at": "2017-05-29T07:48:55Z",
        "updated_at": "2017-11-29T10:21:24Z",
    },
    "default_environment": {},
    "runs": [],
    "services": [],
    "triggers": [],
    "created_at": "2018-06-05T08:52:02.428441Z",
    "modified_at": "2018-06-05T08:52:02.428587Z",
}
SDK_VERSION = {
    "deployment_id": "1111111111111",
    "creator": SDK_DEPLOYMENT["creator"],
    "version": "0.0.1",
    "version_id": "ver-abc1111111111111",
    "handler": "main:handler",
    "image": "abeja-inc/all-cpu:18.10",
    "user_parameters": {},
    "created_at": "2018-06-05T08:52:02.428441Z",
    "modified_at": "2018-06-05T08:52:02.428587Z",
}


def deployment(deployment_id: str, name: str | None) -> Deployment:
    return Deployment.from_wire({"deployment_id": deployment_id, "name": name})


# ---------------------------------------------------------------- views


def test_deployment_from_the_sdk_sample() -> None:
    d = Deployment.from_wire(SDK_DEPLOYMENT)
    assert (d.deployment_id, d.name) == ("1111111111111", "deployment_name")
    assert d.creator is not None and d.creator.label == "platform-support@abeja.asia"
    assert d.creator.role == "admin" and d.creator.display_name is None
    assert d.created_at is not None and d.created_at.microsecond == 428441
    assert d.label == "deployment_name (1111111111111)"
    assert d.raw["triggers"] == []


def test_version_from_the_sdk_sample() -> None:
    v = Version.from_wire(SDK_VERSION)
    assert (v.version_id, v.version, v.handler) == ("ver-abc1111111111111", "0.0.1", "main:handler")
    assert v.creator is not None and v.creator.user_id == "1111111111111"


@pytest.mark.parametrize(
    "creator",
    [None, "someone", [], {}, {"display_name": "Ann", "email": "a@x"}, {"id": 12345}],
)
def test_a_deployment_takes_any_creator_or_none(creator: object) -> None:
    d = Deployment.from_wire({"deployment_id": 7, "creator": creator})
    assert d.deployment_id == "7" and d.name is None and d.label == "7"
    if isinstance(creator, dict) and creator:
        assert d.creator is not None and d.creator.label in ("Ann", "12345")


def test_a_list_keeps_the_usable_entries() -> None:
    data = {
        "entries": [
            SDK_DEPLOYMENT,
            {"name": "no id"},
            {"deployment_id": True},
            {"deployment_id": ""},
            "text",
            {"deployment_id": "2", "name": "b", "default_environment": '{"K": "v"}'},
        ]
    }
    found = Deployment.list_from_wire(data)
    assert [d.deployment_id for d in found] == ["1111111111111", "2"]
    assert dict(found[1].default_environment) == {"K": "v"}
    with pytest.raises(ResponseShapeError):
        Deployment.list_from_wire({"deployments": []})
    with pytest.raises(ResponseShapeError):
        Version.list_from_wire([SDK_VERSION])


def test_match_prefers_an_id_and_refuses_to_guess_between_names() -> None:
    known = [deployment("1", "a"), deployment("2", "twin"), deployment("3", "twin")]
    assert match_deployment(known, "2").deployment_id == "2"  # type: ignore[union-attr]
    assert match_deployment(known, "a").deployment_id == "1"  # type: ignore[union-attr]
    assert match_deployment(known, "nobody") is None
    with pytest.raises(AmbiguousDeployment) as caught:
        match_deployment(known, "twin")
    assert caught.value.ids == ("2", "3")
    assert str(caught.value) == "2 deployments are named 'twin': 2, 3; give one of these ids"
    # A name that is another deployment's id names that deployment.
    assert match_deployment([*known, deployment("4", "1")], "1").deployment_id == "1"  # type: ignore[union-attr]


def test_an_ambiguous_name_stays_one_line() -> None:
    error = AmbiguousDeployment("x\ny", [str(n) for n in range(50)])
    assert "\n" not in str(error) and "and 30 more" in str(error)


# ---------------------------------------------------------------- against the engine


async def test_names_and_ids_resolve_against_the_engine(engine: Any) -> None:
    mnist, _ = engine.deploy_source("def handler(d, c):\n    pass\n", name="mnist-train")
    first, _ = engine.deploy_source("def handler(d, c):\n    pass\n", name="twin")
    second, _ = engine.deploy_source("def handler(d, c):\n    pass\n", name="twin")
    org = engine.organization_id
    async with AsyncAPIClient(engine.credential, base_url=engine.url) as client:
        assert (await resolve_deployment(client, org, "mnist-train")).deployment_id == mnist
        assert (await resolve_deployment(client, org, mnist)).name == "mnist-train"
        demo = await resolve_deployment(client, org, "demo")
        assert demo.deployment_id == engine.demo_deployment_id
        assert demo.creator is not None and demo.creator.role == "admin"
        with pytest.raises(AmbiguousDeployment) as ambiguous:
            await resolve_deployment(client, org, "twin")
        assert ambiguous.value.ids == (first, second)
        with pytest.raises(UnknownDeployment) as unknown:
            await resolve_deployment(client, org, "nobody/../x")
        assert unknown.value.status_code == 404
        assert "no deployment named 'nobody/../x'" in str(unknown.value)
        # A deployment missing from a list fetched earlier is still found by its id.
        assert (await resolve_deployment(client, org, mnist, known=[])).name == "mnist-train"
        listed = await list_deployments(client, org)
    assert [d.name for d in listed] == ["demo", "mnist-train", "twin", "twin"]


def test_one_version_from_the_engine_with_both_clients(engine: Any) -> None:
    deployment_id, version_id = engine.deploy_source("def handler(d, c):\n    pass\n", name="v")
    org = engine.organization_id
    with APIClient(engine.credential, base_url=engine.url) as client:
        one = client.get_deployment_version(org, deployment_id, version_id)
        listed = client.get_deployment_versions(org, deployment_id)["entries"]
    assert listed == [one]
    assert Version.from_wire(one).creator is not None
    assert set(one) == set(SDK_VERSION)


# ---------------------------------------------------------------- servers that answer otherwise


def paged_list(pages: dict[str, tuple[list[dict[str, Any]], str | None]]) -> Any:
    """A deployments list in pages: the page's token -> (entries, next token)."""

    def respond(request: Recorded, index: int) -> tuple[int, dict[str, str], bytes]:
        token = request.query.partition("next_page_token=")[2] or ""
        entries, following = pages[token]
        body: dict[str, Any] = {"entries": entries}
        if following is not None:
            body["next_page_token"] = following
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    return respond


async def test_every_page_of_a_paged_list_is_read() -> None:
    pages = {
        "": ([{"deployment_id": "1", "name": "a"}], "p2"),
        "p2": ([{"deployment_id": "2", "name": "b"}, {"deployment_id": "1", "name": "a"}], "p3"),
        # A token already seen ends the list rather than looping for ever.
        "p3": ([{"deployment_id": "3", "name": "target"}], "p2"),
    }
    with RecordingServer(paged_list(pages)) as server:
        async with AsyncAPIClient({"auth_token": "t"}, base_url=server.url) as client:
            found = await resolve_deployment(client, "org", "target")
            listed = await list_deployments(client, "org")
        targets = [r.target for r in server.take()]
    assert found.deployment_id == "3"
    # A deployment repeated across pages is one deployment, not an ambiguous name.
    assert [d.deployment_id for d in listed] == ["1", "2", "3"]
    # The first request is the SDK's (no paging parameter); then the tokens given back.
    assert targets[:3] == [
        "/organizations/org/deployments",
        "/organizations/org/deployments?next_page_token=p2",
        "/organizations/org/deployments?next_page_token=p3",
    ]


def refuses_the_list(request: Recorded, index: int) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if request.path == "/organizations/org/deployments":
        body = {"error": "forbidden", "error_description": "not allowed to list"}
        return 403, headers, json.dumps(body).encode()
    if request.path == "/organizations/org/deployments/1111111111111":
        return 200, headers, json.dumps(SDK_DEPLOYMENT).encode()
    return 404, headers, json.dumps({"error": "not_found", "error_description": "no"}).encode()


async def test_an_id_still_works_when_the_list_may_not_be_read() -> None:
    with RecordingServer(refuses_the_list) as server:
        async with AsyncAPIClient({"auth_token": "t"}, base_url=server.url) as client:
            found = await resolve_deployment(client, "org", "1111111111111")
            assert found.name == "deployment_name"
            # A name cannot be looked up without the list: the refusal is what the user sees.
            with pytest.raises(Forbidden):
                await resolve_deployment(client, "org", "deployment_name")
