"""An organization's name to its id, as abejacli does it: GET /organizations/<name> -> `id`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from runwatch.api import AsyncAPIClient, NotFound
from runwatch.api.errors import ResponseShapeError, Unauthorized
from runwatch.api.organizations import resolve_organization_id


async def test_the_engine_answers_by_name_and_by_id(engine: Any) -> None:
    async with AsyncAPIClient(engine.credential, base_url=engine.url) as client:
        assert await resolve_organization_id(client, "runwatch-local") == engine.organization_id
        assert (
            await resolve_organization_id(client, engine.organization_id) == engine.organization_id
        )
        answer = await client.get_organization("runwatch-local")
        assert answer == {"id": engine.organization_id, "name": "runwatch-local"}
        with pytest.raises(NotFound) as caught:
            await resolve_organization_id(client, "someone-else")
        assert caught.value.error_description == "organization 'someone-else' not found"
    # Basic auth with the abeja CLI's user and token, as the CLI sends it.
    credential = {"user_id": "1122334455667", "personal_access_token": engine.token}
    async with AsyncAPIClient(credential, base_url=engine.url) as client:
        assert await resolve_organization_id(client, "runwatch-local") == engine.organization_id
    async with AsyncAPIClient({"auth_token": "wrong"}, base_url=engine.url) as client:
        with pytest.raises(Unauthorized):
            await resolve_organization_id(client, "runwatch-local")


@pytest.mark.parametrize("body", [{}, {"id": ""}, {"id": None}, {"name": "acme"}])
async def test_an_answer_without_an_id_is_a_shape_error(body: dict[str, Any]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    transport = httpx.MockTransport(answer)
    async with AsyncAPIClient(
        {"auth_token": "t"}, base_url="http://x.test", transport=transport
    ) as client:
        with pytest.raises(ResponseShapeError, match="'acme' has no id"):
            await resolve_organization_id(client, "acme")


async def test_a_numeric_id_is_a_string() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"id": 1234}))
    async with AsyncAPIClient(
        {"auth_token": "t"}, base_url="http://x.test", transport=transport
    ) as client:
        assert await resolve_organization_id(client, "acme") == "1234"
