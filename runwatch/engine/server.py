"""The HTTP layer: the Run API contract on FastAPI.

Responses are built as JSON bytes directly (the pydantic models in schemas.py describe them for
the OpenAPI schema only): validating 1,000 log events per page through pydantic would cost more
than the database query that fetched them.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import (
    ValidationError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from runwatch.engine import db, store
from runwatch.engine.common import (
    LOG_TOKEN_STYLES,
    ORGANIZATION_NAME,
    VERSION_ID_RE,
)
from runwatch.engine.guard import GuardMiddleware
from runwatch.engine.log_routes import add_log_routes
from runwatch.engine.openapi_doc import contract_openapi
from runwatch.engine.request_parsing import (
    decode_token,
    encode_token,
    parse_body,
    parse_bool,
)
from runwatch.engine.responses import (
    PAGE_BYTES,
    ApiError,
    bad_request,
    error_response,
    json_response,
)
from runwatch.engine.route_checks import DEPLOYMENTS, E413, ERRORS, Lookups, OrgId, TokenQuery
from runwatch.engine.schemas import (
    CreateRunRequest,
    DeploymentList,
    DeploymentModel,
    Health,
    OrganizationModel,
    RunList,
    RunModel,
    VersionList,
    VersionModel,
)
from runwatch.engine.service import Service

RUNS_PAGE = 50


# -- the app -----------------------------------------------------------------------------------


def create_app(service: Service, *, log_tokens: str = "seed") -> FastAPI:
    meta = service.meta
    if log_tokens not in LOG_TOKEN_STYLES:
        raise ValueError(f"log_tokens must be one of {LOG_TOKEN_STYLES}")
    seed_tokens = log_tokens == "seed"
    app = FastAPI(
        title="runwatch engine: the Run API",
        version="1.0",
        description="A local implementation of the ABEJA Platform Run API.",
    )

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.description, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        message = str(first.get("msg", "invalid"))
        return error_response(400, f"{field}: {message}", {"field": field})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = error_response(exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            # Starlette names only the first route of the path; list every method it serves.
            methods: set[str] = set()
            for route in app.routes:
                if isinstance(route, APIRoute) and route.matches(request.scope)[0] != Match.NONE:
                    methods |= route.methods or set()
            if methods:
                response.headers["Allow"] = ", ".join(sorted(methods))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        return error_response(500, f"internal error: {type(exc).__name__}")

    lookups = Lookups(service)

    @app.get("/healthz", response_model=Health, tags=["engine"])
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get(
        "/organizations/{organization_id}",
        response_model=OrganizationModel,
        responses=ERRORS,
        tags=["organizations"],
    )
    async def get_organization(organization_id: str) -> Response:
        # The abeja CLI keeps an organization's name and asks this for its id
        # (abejacli.common.get_organization_id); the id itself is answered too.
        given = organization_id.encode()
        if not any(
            hmac.compare_digest(given, known.encode())
            for known in (meta.organization_id, ORGANIZATION_NAME)
        ):
            raise ApiError(404, f"organization {organization_id[:40]!r} not found")
        return json_response({"id": meta.organization_id, "name": ORGANIZATION_NAME})

    @app.get(DEPLOYMENTS, response_model=DeploymentList, responses=ERRORS, tags=["deployments"])
    async def list_deployments(organization_id: OrgId) -> Response:
        lookups.check_org(organization_id)

        def query(conn: Any) -> list[dict[str, Any]]:
            creator = store.local_user(conn, meta.organization_id)
            return [store.deployment_json(r, creator) for r in store.list_deployments(conn)]

        return json_response({"entries": await service.read(query)})

    @app.get(
        DEPLOYMENTS + "/{deployment_id}",
        response_model=DeploymentModel,
        responses=ERRORS,
        tags=["deployments"],
    )
    async def get_deployment(organization_id: OrgId, deployment_id: str) -> Response:
        lookups.check_org(organization_id)

        def query(conn: Any) -> dict[str, Any]:
            row = lookups.lookup_deployment(conn, deployment_id)
            return store.deployment_json(row, store.local_user(conn, meta.organization_id))

        return json_response(await service.read(query))

    @app.get(
        DEPLOYMENTS + "/{deployment_id}/versions",
        response_model=VersionList,
        responses=ERRORS,
        tags=["deployments"],
    )
    async def list_versions(organization_id: OrgId, deployment_id: str) -> Response:
        lookups.check_org(organization_id)

        def query(conn: Any) -> list[dict[str, Any]]:
            lookups.lookup_deployment(conn, deployment_id)
            creator = store.local_user(conn, meta.organization_id)
            return [
                store.version_json(r, creator) for r in store.list_versions(conn, deployment_id)
            ]

        return json_response({"entries": await service.read(query)})

    @app.get(
        DEPLOYMENTS + "/{deployment_id}/versions/{version_id}",
        response_model=VersionModel,
        responses=ERRORS,
        tags=["deployments"],
    )
    async def get_version(organization_id: OrgId, deployment_id: str, version_id: str) -> Response:
        lookups.check_org(organization_id)

        def query(conn: Any) -> dict[str, Any]:
            lookups.lookup_deployment(conn, deployment_id)
            row = (
                store.get_version(conn, deployment_id, version_id)
                if VERSION_ID_RE.match(version_id)
                else None
            )
            if row is None:
                raise ApiError(404, f"version {version_id[:40]!r} not found")
            return store.version_json(row, store.local_user(conn, meta.organization_id))

        return json_response(await service.read(query))

    create_body_schema = CreateRunRequest.model_json_schema()
    # Names outside the pattern are rejected, which patternProperties alone does not say.
    create_body_schema["properties"]["environment"]["anyOf"][0]["additionalProperties"] = False

    @app.post(
        DEPLOYMENTS + "/{deployment_id}/runs",
        response_model=RunModel,
        responses={**ERRORS, 413: E413},
        tags=["runs"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": create_body_schema}},
            }
        },
    )
    async def create_run(organization_id: OrgId, deployment_id: str, request: Request) -> Response:
        lookups.check_org(organization_id)
        await lookups.check_deployment(deployment_id)
        # The body is parsed here rather than by FastAPI so that a client that forgets the
        # JSON content type (curl -d) still works, and so that errors name the field.
        data = parse_body(await request.body())
        if not isinstance(data, dict):
            raise bad_request("body", "expected a JSON object")
        try:
            body = CreateRunRequest.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            raise bad_request(field, str(first["msg"])) from None
        if not VERSION_ID_RE.match(body.version_id):
            raise bad_request(
                "version_id", f"no version {body.version_id[:40]!r} in this deployment"
            )
        version_id = body.version_id
        retry_count = 5 if body.retry_count is None else body.retry_count

        def insert(conn: Any) -> dict[str, Any]:
            version = store.get_version_for_run(conn, deployment_id, version_id)
            if version is None:
                raise bad_request("version_id", f"no version {version_id!r} in this deployment")
            with db.Transaction(conn):
                row = store.insert_run(
                    conn,
                    ids_mode=meta.ids_mode,
                    deployment_id=deployment_id,
                    version_id=version_id,
                    model_version=version[0],
                    input_data=body.input_data or {},
                    output_template=body.output_template,
                    models=body.models or {},
                    environment=body.environment or {},
                    retry_count=retry_count,
                    distribution=body.distribution,
                    now_us=service.clock.now_us(),
                )
            return store.run_json(row)

        run = await service.write(insert)
        service.writer.poke()
        return json_response(run)

    @app.get(
        DEPLOYMENTS + "/{deployment_id}/runs",
        response_model=RunList,
        responses=ERRORS,
        tags=["runs"],
    )
    async def get_runs(
        organization_id: OrgId,
        deployment_id: str,
        next_page_token: TokenQuery = None,
        scan_forward: Annotated[
            Literal["True", "False", "true", "false", "1", "0"] | None,
            Query(description="True: oldest first (default: newest first)"),
        ] = None,
    ) -> Response:
        lookups.check_org(organization_id)
        forward = bool(parse_bool("scan_forward", scan_forward))
        after: int | None = None
        if next_page_token:
            direction = "f" if forward else "b"
            after = decode_token("next_page_token", next_page_token, "r" + direction, deployment_id)

        def query(conn: Any) -> list[tuple[Any, ...]]:
            lookups.lookup_deployment(conn, deployment_id)
            return store.list_runs(
                conn, deployment_id, forward=forward, after=after, limit=RUNS_PAGE + 1
            )

        rows = await service.read(query)
        # Each run is serialised once; a page stops before ~1 MiB (input data can be 1 MiB a
        # run), so a poll of the newest runs stays small however big the runs are.
        entries = [
            json.dumps(store.run_json(r), ensure_ascii=False, separators=(",", ":"))
            for r in rows[:RUNS_PAGE]
        ]
        kept, total = 0, 0
        for entry in entries:
            total += len(entry) + 1
            if total > PAGE_BYTES and kept > 0:
                break
            kept += 1
        body = '{"entries":[' + ",".join(entries[:kept]) + "]"
        if len(rows) > kept:
            token = encode_token("rf" if forward else "rb", deployment_id, rows[kept - 1][0])
            body += f',"next_page_token":{json.dumps(token)}'
        return Response((body + "}").encode(), 200, media_type="application/json")

    @app.get(
        DEPLOYMENTS + "/{deployment_id}/runs/{run_id}",
        response_model=RunModel,
        responses=ERRORS,
        tags=["runs"],
    )
    async def get_run(organization_id: OrgId, deployment_id: str, run_id: str) -> Response:
        lookups.check_org(organization_id)

        def query(conn: Any) -> tuple[Any, ...] | None:
            lookups.lookup_run(conn, deployment_id, run_id)
            return store.get_run(conn, deployment_id, run_id)

        row = await service.read(query)
        if row is None:
            raise ApiError(404, f"run {run_id!r} not found")
        return json_response(store.run_json(row))

    add_log_routes(app, service, lookups, seed_tokens=seed_tokens)
    app.openapi = lambda: contract_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(GuardMiddleware, token=meta.token)
    return app
