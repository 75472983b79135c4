"""A per-process cache of rarely changed rows (SLA policies, rules, mailboxes): each value
is loaded at most once per `seconds`; clear() on a change of the rows in this process,
other processes see the change within `seconds`."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import Any


class TtlCache:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._values: dict[str, tuple[float, Any]] = {}

    def get(self, name: str, load: Callable[[], Any]) -> Any:
        now = monotonic()
        hit = self._values.get(name)
        if hit is None or hit[0] <= now:
            hit = (now + self.seconds, load())
            self._values[name] = hit
        return hit[1]

    def clear(self) -> None:
        self._values.clear()
