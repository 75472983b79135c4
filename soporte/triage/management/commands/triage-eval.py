"""`soporte triage-eval`: the same command as `soporte triage_eval`."""

from .triage_eval import Command  # noqa: F401
