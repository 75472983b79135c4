"""The jobs areas offer: `@job("mail.process_raw")` on a function in an area's tasks.py
registers it under that name; `process_raw.enqueue(raw_id)` records a run of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_kinds: dict[str, JobKind] = {}
_discovered = False


@dataclass(frozen=True)
class JobKind:
    name: str
    func: Callable[..., Any]
    max_attempts: int
    # Only these errors are worth another attempt; anything else fails the job at once.
    retry_on: tuple[type[BaseException], ...]
    backoff: float  # seconds before the second attempt; doubles each time
    timeout: float  # seconds a run may hold its claim before it counts as lost
    # A batched job's function takes a list of argument lists, the runs a worker claimed
    # together, done in one call (e.g. many tickets indexed in a few queries); it returns
    # None, or a list with each run's result, or the error that run should retry on.
    batched: bool = False
    # A batched job whose batches have a fixed cost worth sharing (a window read once per
    # batch): a worker whose claim holds some of its runs claims more, up to this many.
    batch_size: int = 0

    def __call__(self, *args: Any) -> Any:
        if not self.batched:
            return self.func(*args)
        [outcome] = self.func([list(args)]) or [None]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def enqueue(self, *args: Any, delay: float = 0) -> None:
        from .queue import enqueue

        enqueue(self.name, *args, delay=delay)


def job(
    name: str,
    *,
    max_attempts: int = 5,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    backoff: float = 30.0,
    timeout: float = 600.0,
    batched: bool = False,
    batch_size: int = 0,
) -> Callable[[Callable[..., Any]], JobKind]:
    def register(func: Callable[..., Any]) -> JobKind:
        kind = JobKind(name, func, max_attempts, retry_on, backoff, timeout, batched, batch_size)
        _kinds[name] = kind
        return kind

    return register


def get(name: str) -> JobKind | None:
    """The registered job of that name; imports every area's tasks.py the first time."""
    global _discovered
    if name not in _kinds and not _discovered:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("tasks")
        _discovered = True
    return _kinds.get(name)
