"""Deployments, their versions and who created them, as `abeja.deployments` shows them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from runwatch.api.errors import ResponseShapeError
from runwatch.api.wire_values import (
    id_text,
    json_type,
    optional_str,
    parse_entries,
    parse_time,
    str_mapping,
)


def _object_with_id(data: object, what: str, id_field: str) -> tuple[Mapping[str, Any], str]:
    """`data` as an object and its id, or ResponseShapeError: without its id it is no use."""
    if not isinstance(data, Mapping):
        raise ResponseShapeError(f"a {what} must be a JSON object, got {json_type(data)}")
    ident = id_text(data.get(id_field))
    if ident is None:
        raise ResponseShapeError(f"a {what} object without a {id_field}")
    return data, ident


@dataclass(frozen=True, slots=True)
class Creator:
    """Who created a deployment or a version (the platform's user object)."""

    user_id: str | None
    display_name: str | None
    email: str | None
    role: str | None

    @classmethod
    def from_wire(cls, data: object) -> Creator | None:
        """The creator, or None when the field is missing or not an object."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            user_id=id_text(data.get("id")),
            display_name=optional_str(data.get("display_name")) or None,
            email=optional_str(data.get("email")) or None,
            role=optional_str(data.get("role")) or None,
        )

    @property
    def label(self) -> str:
        """The name a person would recognise: display name, else email, else the user id."""
        return self.display_name or self.email or self.user_id or "?"


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment as `abeja.deployments` shows it. Only `deployment_id` is required."""

    deployment_id: str
    name: str | None
    creator: Creator | None
    default_environment: Mapping[str, str]
    created_at: datetime | None
    modified_at: datetime | None
    raw: Mapping[str, Any]

    @classmethod
    def from_wire(cls, data: object) -> Deployment:
        data, deployment_id = _object_with_id(data, "deployment", "deployment_id")
        return cls(
            deployment_id=deployment_id,
            name=optional_str(data.get("name")) or None,
            creator=Creator.from_wire(data.get("creator")),
            default_environment=str_mapping(data.get("default_environment")),
            created_at=parse_time(data.get("created_at")),
            modified_at=parse_time(data.get("modified_at")),
            raw=MappingProxyType(dict(data)),
        )

    @classmethod
    def list_from_wire(cls, data: object) -> list[Deployment]:
        """The deployments of a list answer (`{"entries": [...]}`).

        An entry without an id is left out: its runs could not be asked for (they would be
        polled at `.../deployments/None/runs`), and one odd entry must not hide the others.
        """
        return parse_entries(data, cls.from_wire, "deployments")

    @property
    def label(self) -> str:
        """`name (id)`, or the id alone for a deployment without a name."""
        return f"{self.name} ({self.deployment_id})" if self.name else self.deployment_id


@dataclass(frozen=True, slots=True)
class Version:
    """A deployment's code version (`abeja.deployments` get_deployment_version)."""

    version_id: str
    version: str | None
    handler: str | None
    image: str | None
    creator: Creator | None
    created_at: datetime | None
    raw: Mapping[str, Any]

    @classmethod
    def from_wire(cls, data: object) -> Version:
        data, version_id = _object_with_id(data, "version", "version_id")
        return cls(
            version_id=version_id,
            version=optional_str(data.get("version")) or None,
            handler=optional_str(data.get("handler")) or None,
            image=optional_str(data.get("image")) or None,
            creator=Creator.from_wire(data.get("creator")),
            created_at=parse_time(data.get("created_at")),
            raw=MappingProxyType(dict(data)),
        )

    @classmethod
    def list_from_wire(cls, data: object) -> list[Version]:
        """The versions of a list answer; entries without a version_id are left out."""
        return parse_entries(data, cls.from_wire, "versions")
