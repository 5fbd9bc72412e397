"""The Run API's wire models, for the OpenAPI schema only.

Responses are built as JSON bytes directly (see server.py); these pydantic models describe
them, and CreateRunRequest validates the one body a client sends.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints

# Names and values a process environment can hold (so a run can always be started).
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")]
EnvValue = Annotated[StrictStr, StringConstraints(pattern=r"^[^\x00]*$")]


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
