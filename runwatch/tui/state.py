"""UI state remembered per profile: last deployment and view settings.

Stored as JSON under runwatch.config.state_dir(); a damaged or unreadable file is ignored
(the UI starts from defaults) rather than stopping the app.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from runwatch.api.deployment_views import Deployment


@dataclass
class ViewState:
    deployment_id: str | None = None
    # Shown to whoever reads the file, and the way back to a deployment whose id changed (a
    # local engine's data dir made anew gives `demo` a new id).
    deployment_name: str | None = None
    scan_forward: bool = False
    show_timestamps: bool = True
    wrap: bool = False
    run_filter: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> ViewState:
        state = cls()
        if not isinstance(data, dict):
            return state
        for field in fields(cls):
            value = data.get(field.name)
            default = getattr(state, field.name)
            if isinstance(default, bool):
                if isinstance(value, bool):
                    setattr(state, field.name, value)
            elif field.name in ("deployment_id", "deployment_name"):
                if isinstance(value, str) and value:
                    setattr(state, field.name, value)
            elif isinstance(value, type(default)):
                setattr(state, field.name, value)
        return state

    def remembered_deployment(self, deployments: Sequence[Deployment]) -> Deployment | None:
        """The remembered deployment among `deployments`: by id, else by its name when only
        one deployment carries it; None when it has gone."""
        from runwatch.api.deployments import match_deployment
        from runwatch.api.errors import AmbiguousDeployment

        for wanted in (self.deployment_id, self.deployment_name):
            if not wanted:
                continue
            try:
                found = match_deployment(deployments, wanted)
            except AmbiguousDeployment:
                found = None
            if found is not None:
                return found
        return None


class StateStore:
    """One JSON file per profile in `directory`."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def _path(self, profile: str | None) -> Path | None:
        if self.directory is None:
            return None
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", profile or "local") or "local"
        return self.directory / f"ui-{name}.json"

    def load(self, profile: str | None) -> ViewState:
        path = self._path(profile)
        if path is None:
            return ViewState()
        try:
            return ViewState.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return ViewState()

    def save(self, profile: str | None, state: ViewState) -> None:
        path = self._path(profile)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            # Remembering the view is a convenience; a read-only home must not break the app.
            pass
