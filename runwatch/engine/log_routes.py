"""The log routes: /logs (the seed's paging) and /recentlogs (CloudWatch-style tokens)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response

from runwatch.engine import log_blocks
from runwatch.engine.request_parsing import decode_token, encode_token
from runwatch.engine.responses import cut_to_size, events_page
from runwatch.engine.route_checks import (
    DEPLOYMENTS,
    ERRORS,
    Lookups,
    OrgId,
    TimeQuery,
    TokenQuery,
    time_range,
)
from runwatch.engine.schemas import LogsPage, RecentLogsPage
from runwatch.engine.service import Service

LOGS_PAGE = 1000


def add_log_routes(app: FastAPI, service: Service, lookups: Lookups, *, seed_tokens: bool) -> None:
    @app.get(
        DEPLOYMENTS + "/{deployment_id}/runs/{run_id}/logs",
        response_model=LogsPage,
        responses=ERRORS,
        tags=["logs"],
    )
    async def get_run_logs(
        organization_id: OrgId,
        deployment_id: str,
        run_id: str,
        next_token: TokenQuery = None,
        start_time: TimeQuery = None,
        end_time: TimeQuery = None,
    ) -> Response:
        lookups.check_org(organization_id)
        start_us, end_us = time_range(start_time, end_time)
        after = decode_token("next_token", next_token, "n", run_id) if next_token else 0

        def query(conn: Any) -> list[tuple[int, str, str]]:
            rseq = lookups.lookup_run(conn, deployment_id, run_id)
            return log_blocks.log_page(
                conn, rseq, after=after, start_us=start_us, end_us=end_us, limit=LOGS_PAGE + 1
            )

        rows = await service.read(query)
        more = len(rows) > LOGS_PAGE
        page = cut_to_size(rows[:LOGS_PAGE])
        more = more or len(page) < len(rows)
        if more:
            return events_page(page, next_token=encode_token("n", run_id, page[-1][0]))
        return events_page(page)

    @app.get(
        DEPLOYMENTS + "/{deployment_id}/runs/{run_id}/recentlogs",
        response_model=RecentLogsPage,
        responses=ERRORS,
        tags=["logs"],
    )
    async def get_run_recent_logs(
        organization_id: OrgId,
        deployment_id: str,
        run_id: str,
        next_forward_token: TokenQuery = None,
        next_backward_token: TokenQuery = None,
        start_time: TimeQuery = None,
        end_time: TimeQuery = None,
    ) -> Response:
        lookups.check_org(organization_id)
        start_us, end_us = time_range(start_time, end_time)
        forward_at = (
            decode_token("next_forward_token", next_forward_token, "f", run_id)
            if next_forward_token
            else None
        )
        backward_at = (
            decode_token("next_backward_token", next_backward_token, "b", run_id)
            if next_backward_token and forward_at is None
            else None
        )

        def query(conn: Any) -> tuple[list[tuple[int, str, str]], int, bool, bool]:
            rseq = lookups.lookup_run(conn, deployment_id, run_id)

            def page(**where: int | None) -> list[tuple[int, str, str]]:
                return log_blocks.log_page(
                    conn, rseq, start_us=start_us, end_us=end_us, limit=LOGS_PAGE, **where
                )

            def exists(**where: int | None) -> bool:
                return bool(
                    log_blocks.log_page(
                        conn, rseq, start_us=start_us, end_us=end_us, limit=1, **where
                    )
                )

            if forward_at is not None:
                rows = cut_to_size(page(after=forward_at))[::-1]
            else:
                rows = cut_to_size(page(before=backward_at))
            last = 0
            if not rows and forward_at is None and backward_at is None:
                last = log_blocks.last_log_seq(conn, rseq)
            if not seed_tokens:
                return rows, last, True, True
            # The seed's way: [] when no more logs lie that way (within start/end time).
            if rows:
                newer = exists(after=rows[0][0])
                older = exists(before=rows[-1][0])
            elif forward_at is not None:
                newer, older = False, exists(before=forward_at + 1)
            elif backward_at is not None:
                newer, older = exists(after=max(backward_at - 1, 0)), False
            else:
                newer = older = False
            return rows, last, newer, older

        rows, last, newer, older = await service.read(query)
        if rows:
            forward = encode_token("f", run_id, rows[0][0])
            backward = encode_token("b", run_id, rows[-1][0])
        elif forward_at is not None:
            assert next_forward_token is not None
            forward = next_forward_token
            backward = encode_token("b", run_id, forward_at + 1)
        elif backward_at is not None:
            assert next_backward_token is not None
            backward = next_backward_token
            forward = encode_token("f", run_id, max(backward_at - 1, 0))
        else:
            forward = encode_token("f", run_id, last)
            backward = encode_token("b", run_id, last + 1)
        return events_page(
            rows,
            next_backward_token=backward if older else [],
            next_forward_token=forward if newer else [],
        )
