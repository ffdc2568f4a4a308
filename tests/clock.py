"""The wall clock under a test's control, through time-machine: `datetime.now()` and
`time.time()` everywhere in the process (the engine's `utcnow()`, SpiffWorkflow's timer
checks, grants, leases) read the test's time, which stands still until the test moves it.
Monotonic clocks are left alone, so socket timeouts and polling deadlines still work.

A test that says "not yet" and then "now" moves the clock between the two instead of
sleeping, so nothing depends on how loaded the machine is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine


class Clock:
    def __init__(self, start: datetime | None = None, *, tick: bool = False):
        self._travel = time_machine.travel(start or datetime.now(UTC), tick=tick)
        self._coordinates: time_machine.Coordinates | None = None
        self._elapsed = 0.0  # how far `advance` has moved time, for `monotonic`

    def start(self) -> Clock:
        self._coordinates = self._travel.start()
        return self

    def stop(self) -> None:
        self._travel.stop()
        self._coordinates = None

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        """Move time forward (the process sees the jump at once)."""
        assert self._coordinates is not None, "the clock is not running"
        self._coordinates.shift(timedelta(seconds=seconds))
        self._elapsed += seconds

    def monotonic(self) -> float:
        """A monotonic clock that moves with `advance` (and only then, while the clock
        stands still), for code that takes one injected (engine.ops.lease.Lease)."""
        return self._elapsed

    def advance_past(self, moment: datetime, margin: float = 0.1) -> None:
        """Move time to just after moment (no move when it is already past)."""
        self.advance(max(0.0, (moment - self.now()).total_seconds()) + margin)
