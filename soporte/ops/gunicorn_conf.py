"""gunicorn hooks for `soporte serve`."""

from prometheus_client import multiprocess


def child_exit(server, worker):
    # A finished worker's live gauges must not count any more.
    multiprocess.mark_process_dead(worker.pid)
