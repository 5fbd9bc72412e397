"""What a following command (`logs -f`, `watch`) says on stderr while the server is away."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runwatch.cli import common, formats

if TYPE_CHECKING:
    from runwatch.api.errors import ApiError


class OutageNotes:
    """What a following command says on stderr while the server is away, and when it is back.

    A refused connection is retried every half second: one note per outage and reason, not
    a line per retry; then `back` once the server answers again.
    """

    def __init__(self, back: str) -> None:
        self.back = back
        self.failing = False
        self._said = ""

    def failed(self, exc: ApiError, delay: float) -> None:
        self.failing = True
        described = common.describe_error(exc)
        if described != self._said:
            self._said = described
            common.note(formats.retry_note(exc, delay))

    def answered(self) -> None:
        if self.failing:
            self.failing, self._said = False, ""
            common.note(self.back)
