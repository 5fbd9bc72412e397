"""What every route checks first (organization, deployment, run) and the shared parameters."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Query

from runwatch.engine import store
from runwatch.engine.common import DEPLOYMENT_ID_RE, RUN_ID_RE
from runwatch.engine.request_parsing import MAX_TOKEN, parse_time_param
from runwatch.engine.responses import ApiError
from runwatch.engine.schemas import ErrorBody
from runwatch.engine.service import Service

E400 = {"model": ErrorBody, "description": "Bad input; the description names the field."}
E401 = {"model": ErrorBody, "description": "Missing or invalid token."}
E404 = {"model": ErrorBody, "description": "Unknown organization, deployment, version or run."}
E413 = {"model": ErrorBody, "description": "Request body over 1 MiB."}
ERRORS: dict[int | str, dict[str, Any]] = {400: E400, 401: E401, 404: E404}

OrgId = Annotated[str, "organization id"]
TokenQuery = Annotated[str | None, Query(max_length=MAX_TOKEN)]
TimeQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:?\d\d)?$",
        description="UTC unless an offset is given, e.g. 2018-01-01T00:00:00",
    ),
]


DEPLOYMENTS = "/organizations/{organization_id}/deployments"


def time_range(start_time: str | None, end_time: str | None) -> tuple[int | None, int | None]:
    """A log query's start and end times in microseconds (an end second counts whole)."""
    return (
        parse_time_param("start_time", start_time, end=False),
        parse_time_param("end_time", end_time, end=True),
    )


class Lookups:
    """The 404 checks, on the service's organization and database."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.meta = service.meta

    def check_org(self, organization_id: str) -> None:
        if not hmac.compare_digest(organization_id.encode(), self.meta.organization_id.encode()):
            raise ApiError(404, f"organization {organization_id[:40]!r} not found")

    async def check_deployment(self, deployment_id: str) -> None:
        if not DEPLOYMENT_ID_RE.match(deployment_id) or (
            await self.service.read(lambda c: store.get_deployment(c, deployment_id)) is None
        ):
            raise ApiError(404, f"deployment {deployment_id[:40]!r} not found")

    def lookup_run(self, conn: Any, deployment_id: str, run_id: str) -> int:
        """The run's internal seq, or a 404; runs on a reader thread inside the page query, so
        a request costs one hop to the database."""
        if not RUN_ID_RE.match(run_id) or not DEPLOYMENT_ID_RE.match(deployment_id):
            raise ApiError(404, f"run {run_id[:40]!r} not found")
        rseq = store.get_run_rseq(conn, deployment_id, run_id)
        if rseq is None:
            if store.get_deployment(conn, deployment_id) is None:
                raise ApiError(404, f"deployment {deployment_id!r} not found")
            raise ApiError(404, f"run {run_id!r} not found")
        return rseq

    def lookup_deployment(self, conn: Any, deployment_id: str) -> tuple[Any, ...]:
        """The deployment's row, or a 404 (on a reader thread, inside the request's query)."""
        row = (
            store.get_deployment(conn, deployment_id)
            if DEPLOYMENT_ID_RE.match(deployment_id)
            else None
        )
        if row is None:
            raise ApiError(404, f"deployment {deployment_id[:40]!r} not found")
        return row
