"""A handler's output cut into log lines, with lines redrawn by carriage returns (tqdm, Keras)
stored as they change.

A terminal shows a line redrawn with `\\r` as its last state; so does the log. Each line that
holds a `\\r` is stored as its last state: the text after its last `\\r`, or before it when
nothing visible follows (a trailing `\\r`, a bar wiped with spaces), trailing blanks dropped.
Never the `\\r`-joined history, which for one tqdm epoch can be megabytes of redraws.

While such a line is still being redrawn (no newline yet), its current state is stored as an
event of its own: the first state at once, then at most one every `interval` seconds per run
(coalesced: a bar redrawn 10,000 times a second stores one event a second), the interval
growing with the line's age (1/60 of it, at most `max_interval`), so an hour-long bar stores
~500 events rather than 3,600 while its newest state is never more than 10 s old. When the
newline comes, the final state is stored as the line, unless it is the state stored last
(no event twice). So the newest event of a run always holds its newest progress, and a
reader (the log pane, `logs -f`, the runs table's progress) needs no `\\r` handling of its own.

Memory stays bounded for a line redrawn forever: only its last complete state and the text
after the last `\\r` are kept. Stdlib only: the supervisor imports it.
"""

from __future__ import annotations

# A "line" with no newline is cut at this size so a handler cannot make us buffer without bound.
MAX_PENDING = 1 << 20
INTERVAL = 1.0
MAX_INTERVAL = 10.0
_BLANKS = b" \t"


def last_state(line: bytes) -> bytes:
    """What a terminal shows of a line redrawn with `\\r` (tqdm and Keras pad each state)."""
    if b"\r" not in line:
        return line
    for segment in reversed(line.split(b"\r")):
        if segment.strip(_BLANKS):
            return segment.rstrip(_BLANKS)
    return b""


def _last_states(block: bytes) -> bytes:
    """`block` of whole lines (each ending in a newline), each line as its last state."""
    lines = block.split(b"\n")
    lines.pop()
    return b"".join(last_state(line) + b"\n" for line in lines)


class LineCutter:
    """Feeds on a handler's raw output; hands back what to store, as whole lines."""

    def __init__(
        self,
        interval: float = INTERVAL,
        max_interval: float = MAX_INTERVAL,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.interval = interval
        self.max_interval = max_interval
        self.max_pending = max_pending
        self.pending = b""  # the unfinished line: `state \r tail` once it holds a `\r`
        self.emitted: bytes | None = None  # the state of the unfinished line stored last
        self.redrawn_since: float | None = None  # when the unfinished line first held a `\r`
        self.state_ts = 0  # when its current state was read (the time its event gets)
        self.last_emit: float | None = None  # per run, across lines

    def feed(self, chunk: bytes, now: float, ts_us: int) -> bytes:
        """Add output read at `now` (monotonic) / `ts_us`; returns the whole lines it ends."""
        data = self.pending + chunk
        out = b""
        cut = data.rfind(b"\n")
        if cut >= 0:
            block = data[: cut + 1]
            if b"\r" in block:
                block = _last_states(block)
            if self.emitted is not None:
                first, _, rest = block.partition(b"\n")
                if first == self.emitted:
                    block = rest  # its final state is the one stored last
            out = block
            self.emitted = None
            self.redrawn_since = None
            data = data[cut + 1 :]
        if b"\r" in data:
            head, _, tail = data.rpartition(b"\r")
            state = last_state(head)
            if len(state) + len(tail) >= self.max_pending:
                state = b""  # the tail alone is what gets cut below
            data = state + b"\r" + tail
            if self.redrawn_since is None:
                self.redrawn_since = now
            self.state_ts = ts_us
        if len(data) >= self.max_pending:
            out += last_state(data) + b"\n"
            data = b""
            self.emitted = None
            self.redrawn_since = None
        self.pending = data
        return out

    def current_state(self) -> bytes | None:
        """The unfinished line's state when it is being redrawn and shows something."""
        if self.redrawn_since is None:
            return None
        state = last_state(self.pending)
        return state if state else None

    def _interval(self, now: float) -> float:
        age = now - (self.redrawn_since if self.redrawn_since is not None else now)
        return min(self.max_interval, max(self.interval, age / 60))

    def next_due(self, now: float) -> float | None:
        """When the unfinished line's state should be stored (None: nothing to store)."""
        state = self.current_state()
        if state is None or state == self.emitted:
            return None
        if self.last_emit is None:
            return now
        return self.last_emit + self._interval(now)

    def due(self, now: float) -> tuple[bytes, int] | None:
        """The unfinished line's state as a line to store now with its time, if one is due."""
        at = self.next_due(now)
        if at is None or at > now:
            return None
        state = self.current_state()
        assert state is not None
        self.emitted = state
        self.last_emit = now
        return state + b"\n", self.state_ts

    def finish(self) -> bytes:
        """At the end of the output: the unfinished line, as a line (if any and not stored)."""
        data, self.pending = self.pending, b""
        if not data:
            return b""
        state = last_state(data)
        if self.emitted is not None and state == self.emitted:
            return b""
        return state + b"\n"
