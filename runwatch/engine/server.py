"""The HTTP layer: the Run API contract on FastAPI.

Responses are built as JSON bytes directly (the pydantic models below describe them for the
OpenAPI schema only): validating 1,000 log events per page through pydantic would cost more than
the database query that fetched them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runwatch.engine import store
from runwatch.engine.common import (
    DEPLOYMENT_ID_RE,
    LOG_TOKEN_STYLES,
    ORGANIZATION_NAME,
    RUN_ID_RE,
    VERSION_ID_RE,
    parse_time_us,
)
from runwatch.engine.service import Service

RUNS_PAGE = 50
LOGS_PAGE = 1000
PAGE_BYTES = 1 << 20
MAX_BODY = 1 << 20
# Answered without the token: the health probe and the API description (no data in either).
PUBLIC_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
MAX_TOKEN = 200
# Arrays and objects in a request body: deep enough for any real input, far from the
# recursion limit of the parsers and encoders the value goes through.
MAX_DEPTH = 64
# Names and values a process environment can hold (so a run can always be started).
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")]
EnvValue = Annotated[StrictStr, StringConstraints(pattern=r"^[^\x00]*$")]
_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    500: "internal_server_error",
}


# -- wire models (OpenAPI) ---------------------------------------------------------------------


class ErrorBody(BaseModel):
    error: str
    error_description: str
    error_detail: dict[str, Any] | None = None


class RunModel(BaseModel):
    deployment_id: str
    models: dict[str, str]
    model_version: str
    model_version_id: str
    input_data: dict[str, Any]
    output_template: dict[str, Any] | None
    retry_count: int
    run_id: str
    status: str
    user_env_vars: dict[str, str]
    distribution: int | None
    created_at: str
    modified_at: str


class RunList(BaseModel):
    entries: list[RunModel]
    next_page_token: str = Field(None, description="Absent on the last page.")  # type: ignore[assignment]


class LogEventModel(BaseModel):
    message: str
    timestamp: str


class LogsPage(BaseModel):
    events: list[LogEventModel]
    next_token: str = Field(None, description="Absent when there are no more events.")  # type: ignore[assignment]


class RecentLogsPage(BaseModel):
    events: list[LogEventModel] = Field(description="Newest first.")
    next_backward_token: str | list[str] = Field(
        description="Token for the previous page; [] when no more logs lie that way (in the "
        "default 'seed' style; the 'cloudwatch' style sends back the token it was given)."
    )
    next_forward_token: str | list[str] = Field(
        description="Token for the next page; [] when no more logs lie that way (see "
        "next_backward_token)."
    )


class CreatorModel(BaseModel):
    display_name: str | None
    email: str
    id: str
    is_registered: bool
    role: str
    created_at: str
    updated_at: str


class DeploymentModel(BaseModel):
    deployment_id: str
    name: str
    creator: CreatorModel
    default_environment: dict[str, str]
    runs: list[dict[str, Any]]
    services: list[dict[str, Any]]
    triggers: list[dict[str, Any]]
    created_at: str
    modified_at: str


class DeploymentList(BaseModel):
    entries: list[DeploymentModel]


class VersionModel(BaseModel):
    deployment_id: str
    version: str
    version_id: str
    handler: str
    image: str
    user_parameters: dict[str, Any]
    creator: CreatorModel
    created_at: str
    modified_at: str


class VersionList(BaseModel):
    entries: list[VersionModel]


class Health(BaseModel):
    status: str


class OrganizationModel(BaseModel):
    """The organization, as GET /organizations/<id or name> answers the abeja CLI."""

    id: str
    name: str


class CreateRunRequest(BaseModel):
    """The body the SDK's create_run sends."""

    model_config = ConfigDict(extra="ignore")

    version_id: StrictStr = Field(pattern=r"^ver-[0-9a-f]{16}$")
    environment: dict[EnvName, EnvValue] | None = None
    input_data: dict[str, Any] | None = None
    models: dict[str, StrictStr] | None = None
    output_template: dict[str, Any] | None = None
    retry_count: StrictInt | None = Field(None, ge=0, le=9)
    distribution: StrictInt | None = Field(None, ge=0, le=2**31 - 1)


# -- errors ------------------------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, description: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.detail = detail


def error_response(status: int, description: str, detail: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {
        "error": _ERROR_NAMES.get(status, "error"),
        "error_description": description,
    }
    if detail is not None:
        body["error_detail"] = detail
    headers = {"WWW-Authenticate": 'Bearer realm="runwatch"'} if status == 401 else None
    return Response(json.dumps(body), status, headers=headers, media_type="application/json")


def bad_request(field: str, problem: str) -> ApiError:
    return ApiError(400, f"{field}: {problem}", {"field": field})


def json_response(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(),
        status,
        media_type="application/json",
    )


# -- auth and size guard -----------------------------------------------------------------------


class GuardMiddleware:
    """Token auth for the API paths and the 1 MiB request body limit, before any routing."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    def authorized(self, header: bytes | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.strip().partition(b" ")
        value = value.strip()
        scheme = scheme.lower()
        if scheme == b"bearer":
            return hmac.compare_digest(value, self.token)
        if scheme == b"basic":
            try:
                decoded = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return False
            _user, sep, password = decoded.partition(b":")
            return bool(sep) and hmac.compare_digest(password, self.token)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        # Deny by default: an endpoint added later needs the token unless it is listed here.
        if scope["path"] not in PUBLIC_PATHS and not self.authorized(headers.get(b"authorization")):
            await error_response(401, "missing or invalid credentials")(scope, receive, send)
            return
        public = scope["path"] in PUBLIC_PATHS
        repeated = None if public else _repeated_parameter(scope.get("query_string", b""))
        if repeated is not None:
            # `?next_token=a&next_token=b` would silently use one of them: refuse instead.
            await bad_request_response(repeated)(scope, receive, send)
            return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > MAX_BODY
            except ValueError:
                too_big = False
            if too_big:
                await error_response(413, "request body larger than 1 MiB")(scope, receive, send)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await error_response(413, "request body larger than 1 MiB")(scope, receive, send)


class _TooLarge(Exception):
    pass


def _repeated_parameter(query: bytes) -> str | None:
    """The first query parameter given more than once, if any."""
    if b"&" not in query:
        return None
    names = [name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def bad_request_response(name: str) -> Response:
    shown = name[:40]
    return error_response(400, f"{shown}: given more than once", {"field": shown})


# -- tokens ------------------------------------------------------------------------------------


def encode_token(*parts: object) -> str:
    raw = ".".join(str(p) for p in parts).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(field: str, token: str, kind: str, owner: str) -> int:
    """The position in a token of `kind` issued for `owner` (a run or a deployment), or 400."""
    if len(token) > MAX_TOKEN:
        raise bad_request(field, "invalid token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        token_kind, token_owner, position = raw.split(".")
        value = int(position)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_request(field, "invalid token") from None
    if token_kind != kind:
        raise bad_request(field, "token of another kind")
    if token_owner != owner:
        raise bad_request(field, "token of another run or deployment")
    if not 0 <= value < 2**62:
        raise bad_request(field, "invalid token")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def parse_body(raw: bytes) -> Any:
    """A request body as strict JSON, or a 400: what is stored must be served back as JSON.

    Python's json accepts NaN and Infinity (and turns 1e400 into inf), which no JSON parser
    reads back; lone surrogates (`"\\ud800"`) cannot be encoded as UTF-8 in the response; and
    nesting deep enough to exhaust the recursion limit fails in json.dumps or the handler.
    """
    if not raw.strip():
        return None
    try:
        data = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise bad_request("body", f"nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise bad_request("body", "not valid JSON") from None
    check_json_value(data)
    return data


def check_json_value(data: Any) -> None:
    """At most MAX_DEPTH levels of arrays and objects, and only UTF-8-encodable strings."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise bad_request("body", f"nested deeper than {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                stack.append((item, depth + 1))


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("body", "a string holds a lone surrogate (not UTF-8)") from None


def parse_bool(field: str, value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise bad_request(field, f"expected True or False, got {value[:20]!r}")


def parse_time_param(field: str, value: str | None, *, end: bool) -> int | None:
    if value is None or value == "":
        return None
    parsed = parse_time_us(value)
    if parsed is None:
        raise bad_request(field, "expected a UTC time like 2018-01-01T00:00:00")
    if end and "." not in value:
        # The SDK sends whole seconds: an end time includes the whole of its second.
        parsed += 999_999
    return parsed


def events_page(rows: list[tuple[int, str, str]], **tokens: str | list[str]) -> Response:
    """`{"events": [...], <tokens>}` from stored event JSON, by joining strings."""
    parts = ['{"events":[', ",".join([row[2] for row in rows]), "]"]
    for key, value in tokens.items():
        parts.append(f',"{key}":{json.dumps(value)}')
    parts.append("}")
    return Response("".join(parts).encode(), 200, media_type="application/json")


def cut_to_size(rows: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """Keep a page under ~1 MiB: the first rows (in query order) that fit, at least one."""
    total = 0
    for index, (_seq, _ts, event) in enumerate(rows):
        total += len(event) + 1
        if total > PAGE_BYTES and index > 0:
            return rows[:index]
    return rows


# -- the app -----------------------------------------------------------------------------------

_E400 = {"model": ErrorBody, "description": "Bad input; the description names the field."}
_E401 = {"model": ErrorBody, "description": "Missing or invalid token."}
_E404 = {"model": ErrorBody, "description": "Unknown organization, deployment, version or run."}
_E413 = {"model": ErrorBody, "description": "Request body over 1 MiB."}
_ERRORS: dict[int | str, dict[str, Any]] = {400: _E400, 401: _E401, 404: _E404}

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


_DEPLOYMENT = "/organizations/{organization_id}/deployments/{deployment_id}"


def _add_links(schema: dict[str, Any]) -> None:
    """OpenAPI links, so stateful testers can follow ids from one response to the next call."""
    paths = schema.get("paths", {})
    org = {"organization_id": "$request.path.organization_id"}
    run_link = {
        **org,
        "deployment_id": "$request.path.deployment_id",
        "run_id": "$response.body#/run_id",
    }
    links = {
        ("/organizations/{organization_id}/deployments", "get"): {
            name: {
                "operationId": paths[_DEPLOYMENT + suffix]["get"]["operationId"],
                "parameters": {**org, "deployment_id": "$response.body#/entries/0/deployment_id"},
            }
            for name, suffix in (
                ("GetDeployment", ""),
                ("GetVersions", "/versions"),
                ("GetRuns", "/runs"),
            )
        },
        (_DEPLOYMENT + "/runs", "post"): {
            name: {
                "operationId": paths[_DEPLOYMENT + "/runs/{run_id}" + suffix]["get"]["operationId"],
                "parameters": run_link,
            }
            for name, suffix in (
                ("GetRun", ""),
                ("GetLogs", "/logs"),
                ("GetRecentLogs", "/recentlogs"),
            )
        },
    }
    for (path, method), operation_links in links.items():
        paths[path][method]["responses"]["200"]["links"] = operation_links


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

    def check_org(organization_id: str) -> None:
        if not hmac.compare_digest(organization_id.encode(), meta.organization_id.encode()):
            raise ApiError(404, f"organization {organization_id[:40]!r} not found")

    async def check_deployment(deployment_id: str) -> None:
        if not DEPLOYMENT_ID_RE.match(deployment_id) or (
            await service.read(lambda c: store.get_deployment(c, deployment_id)) is None
        ):
            raise ApiError(404, f"deployment {deployment_id[:40]!r} not found")

    def lookup_run(conn: Any, deployment_id: str, run_id: str) -> int:
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

    def lookup_deployment(conn: Any, deployment_id: str) -> tuple[Any, ...]:
        """The deployment's row, or a 404 (on a reader thread, inside the request's query)."""
        row = (
            store.get_deployment(conn, deployment_id)
            if DEPLOYMENT_ID_RE.match(deployment_id)
            else None
        )
        if row is None:
            raise ApiError(404, f"deployment {deployment_id[:40]!r} not found")
        return row

    @app.get("/healthz", response_model=Health, tags=["engine"])
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get(
        "/organizations/{organization_id}",
        response_model=OrganizationModel,
        responses=_ERRORS,
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

    base = "/organizations/{organization_id}/deployments"

    @app.get(base, response_model=DeploymentList, responses=_ERRORS, tags=["deployments"])
    async def list_deployments(organization_id: OrgId) -> Response:
        check_org(organization_id)

        def query(conn: Any) -> list[dict[str, Any]]:
            creator = store.local_user(conn, meta.organization_id)
            return [store.deployment_json(r, creator) for r in store.list_deployments(conn)]

        return json_response({"entries": await service.read(query)})

    @app.get(
        base + "/{deployment_id}",
        response_model=DeploymentModel,
        responses=_ERRORS,
        tags=["deployments"],
    )
    async def get_deployment(organization_id: OrgId, deployment_id: str) -> Response:
        check_org(organization_id)

        def query(conn: Any) -> dict[str, Any]:
            row = lookup_deployment(conn, deployment_id)
            return store.deployment_json(row, store.local_user(conn, meta.organization_id))

        return json_response(await service.read(query))

    @app.get(
        base + "/{deployment_id}/versions",
        response_model=VersionList,
        responses=_ERRORS,
        tags=["deployments"],
    )
    async def list_versions(organization_id: OrgId, deployment_id: str) -> Response:
        check_org(organization_id)

        def query(conn: Any) -> list[dict[str, Any]]:
            lookup_deployment(conn, deployment_id)
            creator = store.local_user(conn, meta.organization_id)
            return [
                store.version_json(r, creator) for r in store.list_versions(conn, deployment_id)
            ]

        return json_response({"entries": await service.read(query)})

    @app.get(
        base + "/{deployment_id}/versions/{version_id}",
        response_model=VersionModel,
        responses=_ERRORS,
        tags=["deployments"],
    )
    async def get_version(organization_id: OrgId, deployment_id: str, version_id: str) -> Response:
        check_org(organization_id)

        def query(conn: Any) -> dict[str, Any]:
            lookup_deployment(conn, deployment_id)
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
        base + "/{deployment_id}/runs",
        response_model=RunModel,
        responses={**_ERRORS, 413: _E413},
        tags=["runs"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": create_body_schema}},
            }
        },
    )
    async def create_run(organization_id: OrgId, deployment_id: str, request: Request) -> Response:
        check_org(organization_id)
        await check_deployment(deployment_id)
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
            with store.Transaction(conn):
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
        base + "/{deployment_id}/runs", response_model=RunList, responses=_ERRORS, tags=["runs"]
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
        check_org(organization_id)
        forward = bool(parse_bool("scan_forward", scan_forward))
        after: int | None = None
        if next_page_token:
            direction = "f" if forward else "b"
            after = decode_token("next_page_token", next_page_token, "r" + direction, deployment_id)

        def query(conn: Any) -> list[tuple[Any, ...]]:
            lookup_deployment(conn, deployment_id)
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
        base + "/{deployment_id}/runs/{run_id}",
        response_model=RunModel,
        responses=_ERRORS,
        tags=["runs"],
    )
    async def get_run(organization_id: OrgId, deployment_id: str, run_id: str) -> Response:
        check_org(organization_id)

        def query(conn: Any) -> tuple[Any, ...] | None:
            lookup_run(conn, deployment_id, run_id)
            return store.get_run(conn, deployment_id, run_id)

        row = await service.read(query)
        if row is None:
            raise ApiError(404, f"run {run_id!r} not found")
        return json_response(store.run_json(row))

    @app.get(
        base + "/{deployment_id}/runs/{run_id}/logs",
        response_model=LogsPage,
        responses=_ERRORS,
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
        check_org(organization_id)
        start_us = parse_time_param("start_time", start_time, end=False)
        end_us = parse_time_param("end_time", end_time, end=True)
        after = decode_token("next_token", next_token, "n", run_id) if next_token else 0

        def query(conn: Any) -> list[tuple[int, str, str]]:
            rseq = lookup_run(conn, deployment_id, run_id)
            return store.log_page(
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
        base + "/{deployment_id}/runs/{run_id}/recentlogs",
        response_model=RecentLogsPage,
        responses=_ERRORS,
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
        check_org(organization_id)
        start_us = parse_time_param("start_time", start_time, end=False)
        end_us = parse_time_param("end_time", end_time, end=True)
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
            rseq = lookup_run(conn, deployment_id, run_id)

            def page(**where: int | None) -> list[tuple[int, str, str]]:
                return store.log_page(
                    conn, rseq, start_us=start_us, end_us=end_us, limit=LOGS_PAGE, **where
                )

            def exists(**where: int | None) -> bool:
                return bool(
                    store.log_page(conn, rseq, start_us=start_us, end_us=end_us, limit=1, **where)
                )

            if forward_at is not None:
                rows = cut_to_size(page(after=forward_at))[::-1]
            else:
                rows = cut_to_size(page(before=backward_at))
            last = 0
            if not rows and forward_at is None and backward_at is None:
                last = store.last_log_seq(conn, rseq)
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

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        # Validation errors are answered as contract 400s (see _validation_error), never 422.
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                operation.get("responses", {}).pop("422", None)
        components = schema.setdefault("components", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.get("schemas", {}).pop(name, None)
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic", "description": "password = the token"},
        }
        _add_links(schema)
        for path, path_item in schema.get("paths", {}).items():
            if path.startswith("/organizations"):
                for operation in path_item.values():
                    operation["security"] = [{"bearer": []}, {"basic": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(GuardMiddleware, token=meta.token)
    return app
