"""What a long-running process (a web worker, a job worker) does once it has started."""

from __future__ import annotations

import gc


def settle() -> None:
    """Load what every request and job needs (the URL map with every area's views, every
    area's jobs), then take everything made so far out of the garbage collector's walks
    (gc.freeze): those objects live as long as the process, and each full collection
    walked all of them again (~280,000 in a worker; a tenth of a worker's CPU while it
    took a burst of mail)."""
    from django.urls import get_resolver
    from django.utils.module_loading import autodiscover_modules

    get_resolver().url_patterns  # noqa: B018 - imports every area's pages and API
    autodiscover_modules("tasks")
    gc.collect()
    gc.freeze()
