"""`soporte flow_import FILE`: import a troubleshooting flow from YAML (a new flow, or a
new version of the flow with the same slug). An invalid file changes nothing."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from soporte.flows import services
from soporte.lib.errors import ServiceError


class Command(BaseCommand):
    help = "Import a troubleshooting flow from a YAML file ('-' reads standard input)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The YAML file, or - for standard input.")

    def handle(self, *args, **options):
        name = options["file"]
        try:
            data = self.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {name}: {error.strerror or error}") from None
        except AttributeError:  # a text stream without a buffer (tests)
            data = self.stdin.read().encode()
        try:
            flow, changed = services.import_flow(data, acting_user=None)
        except ServiceError as error:
            raise CommandError(error.message) from None
        if changed:
            self.stdout.write(f"Imported {flow.slug} as version {flow.version}.")
        else:
            self.stdout.write(f"{flow.slug} is unchanged (version {flow.version}).")
