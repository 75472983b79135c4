"""The SLA area's background jobs."""

from __future__ import annotations

from soporte.jobs.registry import job


@job("sla.watch")
def watch() -> int:
    """Warn about and record SLA breaches that have come due (periodic)."""
    from .services import watch as run_watch

    return run_watch()


@job("sla.recompute_open", max_attempts=3)
def recompute_open() -> int:
    """Recompute every open ticket's targets after policies or calendars changed."""
    from .services import recompute_open as run

    return run()


@job("sla.timed_rules")
def timed_rules() -> int:
    """Fire the automation rules that wait a number of hours (periodic)."""
    from .automation import run_timed

    return run_timed()
