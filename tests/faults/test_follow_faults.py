"""The log follower against a server that breaks the token contract (tokens are positions:
a page of events always comes with a token past them). Following such a server naively
repeats a page for ever, or pages back without end; the follower goes by time instead and
delivers each event once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from runwatch.api import AsyncAPIClient
from runwatch.follow.logs import LogFollower

EVENT = {"message": "the same line", "timestamp": "2026-01-01T00:00:00.000000Z"}


def looping_client(page: dict[str, Any]) -> AsyncAPIClient:
    """Every recentlogs request gets `page`, whatever token it carries."""

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(page).encode())

    return AsyncAPIClient(
        {"auth_token": "t0ken-for-tests"},
        max_retry_count=0,
        base_url="http://loop.test",
        transport=httpx.MockTransport(handle),
    )


@pytest.mark.parametrize(
    ("page", "start"),
    [
        # Forward: the same token with the same events. Naively: the line again each poll.
        ({"events": [EVENT], "next_forward_token": "f", "next_backward_token": "b"}, "newest"),
        # No forward token at all: asking again without one gives the newest page again.
        ({"events": [EVENT], "next_backward_token": "b"}, "newest"),
        # Backward: the same token with events. Naively: `logs -f` never returns from its
        # first poll, collecting the page in memory without end.
        ({"events": [EVENT], "next_forward_token": "f", "next_backward_token": "b"}, "start"),
        ({"events": [EVENT], "next_forward_token": "f"}, "start"),
    ],
)
async def test_a_server_answering_one_page_to_everything_gives_its_line_once(
    page: dict[str, Any], start: str
) -> None:
    async with looping_client(page) as client:
        follower = LogFollower(client, "org", "dep", "run", from_start=start == "start")
        delivered: list[str] = []
        for _ in range(3):
            delivered.extend(e.message for e in await asyncio.wait_for(follower.poll(), 10))
            assert follower.caught_up
        assert delivered == ["the same line"]
        # Scrolling back (the TUI's older()) on such a server ends, giving nothing twice.
        for _ in range(3):
            delivered.extend(e.message for e in await asyncio.wait_for(follower.older(), 10))
        assert delivered == ["the same line"] and follower.at_start
