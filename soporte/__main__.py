"""The `soporte` command: Django's management commands under one name."""

from __future__ import annotations

import os
import sys


def command_name(name: str, known: set[str]) -> str:
    """The command as written, or with its dashes and underscores swapped when only that
    one exists (`soporte mail-receive` and `soporte mail_receive` are the same)."""
    if name in known or name.startswith("-"):
        return name
    for other in (name.replace("-", "_"), name.replace("_", "-")):
        if other in known:
            return other
    return name


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soporte.settings")
    from django.core.management import execute_from_command_line, get_commands

    argv = list(sys.argv)
    if len(argv) > 1 and ("-" in argv[1] or "_" in argv[1]):
        import django

        try:
            django.setup()
        except Exception:  # noqa: BLE001, S110 - Django says what is wrong below
            pass
        else:
            argv[1] = command_name(argv[1], set(get_commands()))
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
