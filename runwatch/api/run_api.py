"""The Run API methods, written once with the SDK's exact signatures and request building.

Each returns `self._call(spec)`; the sync and async clients (client.py) say what a call is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from runwatch.api.request_spec import RequestSpec, path_segment, sdk_time
from runwatch.api.wire import Core

R = TypeVar("R")

# The public API methods, in the seed's order; the deployment reads come from the contract doc,
# the organization read from the abeja CLI (abejacli.common.get_organization_id).
API_METHODS = (
    "create_run",
    "get_run",
    "get_run_logs",
    "get_run_recent_logs",
    "get_runs",
    "get_organization",
    "get_deployments",
    "get_deployment",
    "get_deployment_versions",
    "get_deployment_version",
)


def _deployment_path(organization_id: str, deployment_id: str) -> str:
    return (
        f"/organizations/{path_segment(organization_id)}/deployments/{path_segment(deployment_id)}"
    )


def _runs_path(organization_id: str, deployment_id: str) -> str:
    return f"{_deployment_path(organization_id, deployment_id)}/runs"


def _log_params(
    tokens: dict[str, str | None],
    start_time: datetime | str | None,
    end_time: datetime | str | None,
) -> dict[str, str]:
    """The log reads' query, as the SDK builds it: the tokens and times given (truthy), in
    that order, tokens as str() and times in the SDK's format. A time given as a string goes
    as it is: a read by time slices sends fractions of a second, which the SDK cannot."""
    params = {name: str(token) for name, token in tokens.items() if token}
    if start_time:
        params["start_time"] = start_time if isinstance(start_time, str) else sdk_time(start_time)
    if end_time:
        params["end_time"] = end_time if isinstance(end_time, str) else sdk_time(end_time)
    return params


class RunApiMethods(Generic[R]):
    """The Run API methods. `R` is `dict` for the sync client and a coroutine for the async one."""

    _core: Core

    def _call(self, spec: RequestSpec) -> R:
        raise NotImplementedError

    def create_run(
        self,
        organization_id: str,
        deployment_id: str,
        version_id: str,
        input_data: dict[str, str] | None = None,
        output_template: dict[str, str] | None = None,
        distribution: int | None = None,
        retry_count: int | None = None,
        environment: dict[str, str] | None = None,
        model_id: str | None = None,
    ) -> R:
        """Submit a run: POST /organizations/<org>/deployments/<deployment>/runs.

        Never sent twice: when the request may have reached the server (timeout, dropped
        connection) this raises `OutcomeUnknown` instead of retrying.
        """
        body: dict[str, Any] = {"version_id": version_id, "environment": environment or {}}
        if input_data:
            body["input_data"] = input_data
        if model_id:
            body["models"] = {"alias": model_id}
        if output_template:
            body["output_template"] = output_template
        if retry_count is not None:
            body["retry_count"] = retry_count
        if distribution is not None:
            body["distribution"] = distribution
        return self._call(
            RequestSpec(
                "POST", _runs_path(organization_id, deployment_id), json=body, idempotent=False
            )
        )

    def get_run(self, organization_id: str, deployment_id: str, run_id: str) -> R:
        """One run: GET .../deployments/<deployment>/runs/<run_id>."""
        path = f"{_runs_path(organization_id, deployment_id)}/{path_segment(run_id)}"
        return self._call(RequestSpec("GET", path))

    def get_run_logs(
        self,
        organization_id: str,
        deployment_id: str,
        run_id: str,
        next_token: str | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
    ) -> R:
        """The whole log, oldest first, a page at a time: GET .../runs/<run_id>/logs."""
        params = _log_params({"next_token": next_token}, start_time, end_time)
        path = f"{_runs_path(organization_id, deployment_id)}/{path_segment(run_id)}/logs"
        return self._call(RequestSpec("GET", path, params=params))

    def get_run_recent_logs(
        self,
        organization_id: str,
        deployment_id: str,
        run_id: str,
        next_forward_token: str | None = None,
        next_backward_token: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> R:
        """The newest events (newest first), or a page around a token: GET .../recentlogs."""
        tokens = {
            "next_forward_token": next_forward_token,
            "next_backward_token": next_backward_token,
        }
        params = _log_params(tokens, start_time, end_time)
        path = f"{_runs_path(organization_id, deployment_id)}/{path_segment(run_id)}/recentlogs"
        return self._call(RequestSpec("GET", path, params=params))

    def get_runs(
        self,
        organization_id: str,
        deployment_id: str,
        next_page_token: str | None = None,
        scan_forward: bool | None = None,
    ) -> R:
        """A page of runs, newest first unless scan_forward: GET .../deployments/<d>/runs."""
        params: dict[str, str] = {}
        # The SDK tests `is not None` here (not truthiness) and lets requests str() the bool,
        # so the server sees `scan_forward=True` / `False`.
        if scan_forward is not None:
            params["scan_forward"] = str(scan_forward)
        if next_page_token is not None:
            params["next_page_token"] = str(next_page_token)
        return self._call(
            RequestSpec("GET", _runs_path(organization_id, deployment_id), params=params)
        )

    def get_organization(self, organization: str) -> R:
        """GET /organizations/<id or name>, as the abeja CLI asks for its organization's id."""
        return self._call(RequestSpec("GET", f"/organizations/{path_segment(organization)}"))

    def get_deployments(self, organization_id: str, *, next_page_token: str | None = None) -> R:
        """GET /organizations/<org>/deployments (as `abeja.deployments.APIClient` sends it).

        The SDK sends no paging parameter and reads one answer; `next_page_token` is only
        sent back when an answer carried one (`api.deployments.list_deployments` does that).
        """
        params = {} if next_page_token is None else {"next_page_token": str(next_page_token)}
        return self._call(
            RequestSpec(
                "GET", f"/organizations/{path_segment(organization_id)}/deployments", params=params
            )
        )

    def get_deployment(self, organization_id: str, deployment_id: str) -> R:
        """GET /organizations/<org>/deployments/<deployment>."""
        return self._call(RequestSpec("GET", _deployment_path(organization_id, deployment_id)))

    def get_deployment_versions(self, organization_id: str, deployment_id: str) -> R:
        """GET /organizations/<org>/deployments/<deployment>/versions."""
        path = f"{_deployment_path(organization_id, deployment_id)}/versions"
        return self._call(RequestSpec("GET", path))

    def get_deployment_version(
        self, organization_id: str, deployment_id: str, version_id: str
    ) -> R:
        """GET /organizations/<org>/deployments/<deployment>/versions/<version_id>."""
        path = (
            f"{_deployment_path(organization_id, deployment_id)}"
            f"/versions/{path_segment(version_id)}"
        )
        return self._call(RequestSpec("GET", path))

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def timeout(self) -> float:
        return self._core.timeout

    @property
    def max_retry_count(self) -> int:
        return self._core.policy.max_retries

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._core.base_url}>"
