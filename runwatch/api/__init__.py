"""The Run API: a client with the official SDK's signatures, typed views, and errors.

Names are imported lazily so that `import runwatch.api.models` (or the CLI's `--help`) does not
pay for httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runwatch.api.client import APIClient, AsyncAPIClient
    from runwatch.api.deployment_views import Creator, Deployment, Version
    from runwatch.api.deployments import list_deployments, match_deployment, resolve_deployment
    from runwatch.api.errors import (
        AmbiguousDeployment,
        ApiError,
        BadRequest,
        Conflict,
        ConnectionFailed,
        Forbidden,
        HttpError,
        InternalServerError,
        MethodNotAllowed,
        NotFound,
        OutcomeUnknown,
        RequestTimeout,
        ResponseShapeError,
        TooManyRequests,
        Unauthorized,
        UnknownDeployment,
    )
    from runwatch.api.models import TERMINAL_STATUSES, LogEvent, Run, RunStatus, is_terminal
    from runwatch.api.wire_values import format_time, parse_time

_EXPORTS = {
    "APIClient": "client",
    "AsyncAPIClient": "client",
    "AmbiguousDeployment": "errors",
    "ApiError": "errors",
    "BadRequest": "errors",
    "Conflict": "errors",
    "ConnectionFailed": "errors",
    "Forbidden": "errors",
    "HttpError": "errors",
    "InternalServerError": "errors",
    "MethodNotAllowed": "errors",
    "NotFound": "errors",
    "OutcomeUnknown": "errors",
    "RequestTimeout": "errors",
    "ResponseShapeError": "errors",
    "TooManyRequests": "errors",
    "Unauthorized": "errors",
    "UnknownDeployment": "errors",
    "TERMINAL_STATUSES": "models",
    "Creator": "deployment_views",
    "Deployment": "deployment_views",
    "Version": "deployment_views",
    "LogEvent": "models",
    "Run": "models",
    "RunStatus": "models",
    "format_time": "wire_values",
    "is_terminal": "models",
    "parse_time": "wire_values",
    "list_deployments": "deployments",
    "match_deployment": "deployments",
    "resolve_deployment": "deployments",
}

__all__ = [
    "TERMINAL_STATUSES",
    "APIClient",
    "AmbiguousDeployment",
    "ApiError",
    "AsyncAPIClient",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "Creator",
    "Deployment",
    "Forbidden",
    "HttpError",
    "InternalServerError",
    "LogEvent",
    "MethodNotAllowed",
    "NotFound",
    "OutcomeUnknown",
    "RequestTimeout",
    "ResponseShapeError",
    "Run",
    "RunStatus",
    "TooManyRequests",
    "Unauthorized",
    "UnknownDeployment",
    "Version",
    "format_time",
    "is_terminal",
    "list_deployments",
    "match_deployment",
    "parse_time",
    "resolve_deployment",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runwatch.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"runwatch.api.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
