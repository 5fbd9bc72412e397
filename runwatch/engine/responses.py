"""Error and JSON answers of the engine's HTTP layer, and the ApiError that routes raise."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

PAGE_BYTES = 1 << 20
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


def bad_request_response(name: str) -> Response:
    shown = name[:40]
    return error_response(400, f"{shown}: given more than once", {"field": shown})


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
