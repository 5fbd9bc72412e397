"""The engine's OpenAPI description: contract errors only, both auth schemes, and links."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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


def contract_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's schema, built once: what the contract answers, not FastAPI's defaults."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    # Validation errors are answered as contract 400s (server.py, _validation_error), never 422.
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
