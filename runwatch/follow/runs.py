"""The runs poller: keeps a deployment's runs list and reports only what changed.

A view applies a `RunsDiff` in place (add rows, update cells, drop rows) instead of redrawing
the whole table on every poll, which keeps the cursor and scroll where the user left them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runwatch.api.errors import ResponseShapeError
from runwatch.api.models import Run

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["RunChange", "RunsDiff", "RunsPoller", "changed_fields"]

# Wire key -> `Run` attribute, for the keys whose names differ.
_WIRE_TO_FIELD = {"model_version_id": "version_id"}


@dataclass(frozen=True)
class RunChange:
    run: Run
    fields: frozenset[str]


@dataclass(frozen=True)
class RunsDiff:
    added: list[Run] = field(default_factory=list)
    changed: list[RunChange] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def changed_fields(old: Run, new: Run) -> frozenset[str]:
    """Names (as `Run` attributes) of the fields whose wire values differ."""
    keys = set(old.raw) | set(new.raw)
    return frozenset(
        _WIRE_TO_FIELD.get(key, key) for key in keys if old.raw.get(key) != new.raw.get(key)
    )


def _parse_entries(data: Mapping[str, Any]) -> list[Run]:
    entries = data.get("entries")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ResponseShapeError("runs: 'entries' is not a list")
    runs: list[Run] = []
    for entry in entries:
        # One malformed entry must not hide every other run.
        try:
            runs.append(Run.from_wire(entry))
        except ResponseShapeError:
            continue
    return runs


def _next_token(data: Mapping[str, Any]) -> str | None:
    token = data.get("next_page_token")
    return token if isinstance(token, str) and token else None


class RunsPoller:
    """Newest-first by default (`scan_forward=True`: oldest first, as the API names it).

    `poll()` refreshes the pages already shown: the first page when newest first (new runs
    appear at the top), every loaded page when oldest first (new runs appear at the end).
    `load_more()` fetches the next page.
    """

    def __init__(
        self,
        client: AsyncAPIClient,
        organization_id: str,
        deployment_id: str,
        *,
        scan_forward: bool = False,
    ) -> None:
        self.client = client
        self.organization_id = organization_id
        self.deployment_id = deployment_id
        self.scan_forward = scan_forward
        self.runs: dict[str, Run] = {}
        self.order: list[str] = []
        self.has_more = False
        self._next_token: str | None = None
        self._pages_loaded = 0
        # The runs the latest poll (or page) brought: the others' copies may be old (a run
        # on a page below the first is not fetched again when newest first).
        self.fetched: frozenset[str] = frozenset()
        # Tokens load_more has sent since the first page: one coming back again means a loop.
        self._used_tokens: set[str] = set()

    def reset(self, *, scan_forward: bool) -> None:
        self.scan_forward = scan_forward
        self.runs = {}
        self.order = []
        self.has_more = False
        self._next_token = None
        self._pages_loaded = 0
        self.fetched = frozenset()
        self._used_tokens = set()

    @property
    def any_active(self) -> bool:
        return any(not run.terminal for run in self.runs.values())

    async def _page(self, token: str | None) -> tuple[list[Run], str | None]:
        data = await self.client.get_runs(
            self.organization_id,
            self.deployment_id,
            next_page_token=token,
            scan_forward=self.scan_forward,
        )
        return _parse_entries(data), _next_token(data)

    async def poll(self) -> RunsDiff:
        pages = max(1, self._pages_loaded) if self.scan_forward else 1
        fetched: list[Run] = []
        token: str | None = None
        for _ in range(pages):
            runs, token = await self._page(token)
            fetched.extend(runs)
            if token is None:
                break
        if self.scan_forward or self._pages_loaded <= 1:
            # What was fetched is everything loaded: its end is the paging position.
            self._next_token = token
            self.has_more = token is not None
        self._pages_loaded = max(self._pages_loaded, 1)
        return self._merge_prefix(fetched)

    async def load_more(self) -> RunsDiff:
        if not self._pages_loaded:
            return await self.poll()
        if self._next_token is None:
            return RunsDiff()
        sent = self._next_token
        runs, token = await self._page(sent)
        self._used_tokens.add(sent)
        if token in self._used_tokens or all(run.run_id in self.runs for run in runs):
            # A server handing back a token it already gave, or pages that bring no run not
            # already listed (empty, or the same runs under ever new tokens), would be paged
            # for ever (`runs --all` never ended): treat it as the end of the list.
            token = None
        self._next_token = token
        self.has_more = token is not None
        self._pages_loaded += 1
        return self._merge_tail(runs)

    def _update(self, runs: Sequence[Run]) -> tuple[list[Run], list[RunChange]]:
        added: list[Run] = []
        changed: list[RunChange] = []
        self.fetched = frozenset(run.run_id for run in runs)
        for run in runs:
            old = self.runs.get(run.run_id)
            if old is None:
                added.append(run)
            else:
                fields = changed_fields(old, run)
                if fields:
                    changed.append(RunChange(run, fields))
            self.runs[run.run_id] = run
        return added, changed

    def _merge_prefix(self, fetched: list[Run]) -> RunsDiff:
        """`fetched` is a fresh copy of the head of the list: it replaces that head."""
        seen: set[str] = set()
        unique: list[Run] = []
        for run in fetched:
            if run.run_id not in seen:
                seen.add(run.run_id)
                unique.append(run)
        # A run that used to sit above one still listed, but is no longer listed itself,
        # was deleted. Runs that merely slid below the refreshed page are kept.
        position = {run_id: index for index, run_id in enumerate(self.order)}
        last_kept = max((position[r.run_id] for r in unique if r.run_id in position), default=-1)
        removed = [
            run_id
            for run_id in self.order[: last_kept + 1]
            if run_id not in seen and run_id in self.runs
        ]
        for run_id in removed:
            del self.runs[run_id]
        added, changed = self._update(unique)
        rest = [run_id for run_id in self.order[last_kept + 1 :] if run_id not in seen]
        self.order = [run.run_id for run in unique] + rest
        return RunsDiff(added=added, changed=changed, removed=removed)

    def _merge_tail(self, runs: list[Run]) -> RunsDiff:
        # Between two pages runs can shift (new ones push old ones down), so a page can
        # repeat a run already shown: update it in place rather than listing it twice.
        added, changed = self._update(runs)
        known = set(self.order)
        for run in added:
            if run.run_id not in known:
                known.add(run.run_id)
                self.order.append(run.run_id)
        return RunsDiff(added=added, changed=changed)
