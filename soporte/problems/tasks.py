"""The problems area's background jobs (soporte/jobs): each takes ids and is idempotent."""

from __future__ import annotations

from soporte.jobs.registry import job

from .services import MAX_DELIVERY_ATTEMPTS
from .trackers import TrackerUnavailable


# Network errors, timeouts, 429 and 5xx are tried again (60 s, 2 min, 4 min...); a 4xx
# fails the report at once, shown to agents with "try again".
@job(
    "problems.deliver_bug",
    max_attempts=MAX_DELIVERY_ATTEMPTS,
    retry_on=(TrackerUnavailable,),
    backoff=60.0,
)
def deliver_bug(report_id: int) -> str:
    """File one bug report in its tracker."""
    from .services import deliver

    return deliver(report_id)


@job("problems.index_problem", max_attempts=3)
def index_problem(problem_id: int) -> str:
    """Bring the problem's search document up to date (or remove it)."""
    from .indexing import index_problem as index

    return index(problem_id)


@job("problems.poll_bugs")
def poll_bugs() -> int:
    """Periodic: ask the trackers about open bugs, for those whose webhook never came."""
    from .services import poll_bugs as poll

    return poll()
