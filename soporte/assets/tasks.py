"""The assets area's background jobs."""

from __future__ import annotations

from soporte.jobs.registry import job


@job("assets.run_import", max_attempts=2, retry_on=(OSError,), timeout=1800.0)
def run_import(run_id: int) -> str:
    """Check and save an uploaded CSV file (assets or cable certifications)."""
    from .imports import run

    return run(run_id)


@job("assets.flag_stale")
def flag_stale() -> int:
    """Flag the machines the inventory agent has not reported lately (periodic); also
    index the machines a backlog job missed (a row committed after it ran)."""
    from .indexing import index_backlog as drain
    from .inventory import flag_stale as run

    drain()
    return run()


@job("assets.open_maintenance")
def open_maintenance() -> int:
    """Open the preventive maintenance tickets coming due (periodic)."""
    from .maintenance import open_due

    return open_due()


@job("assets.index_search", max_attempts=3, batched=True)
def index_search(runs: list[list]) -> None:
    """Write the search documents of assets (each run's one argument: a list of ids);
    runs claimed together are indexed in one go."""
    from .indexing import index_assets

    index_assets(pk for (asset_ids,) in runs for pk in asset_ids)


@job("assets.index_backlog", max_attempts=3, batched=True)
def index_backlog(runs: list[list]) -> None:
    """Write the search documents of the machines in the backlog; runs claimed together
    drain it once."""
    from .indexing import index_backlog as drain

    drain()


@job("assets.count_reported")
def count_reported(product_id: int) -> int:
    """Installation rows for a product made licensed, from the agent's package lists;
    run again after the licence is added, for the reports in flight at that moment."""
    from .services import count_reported_installations

    return count_reported_installations(product_id)
