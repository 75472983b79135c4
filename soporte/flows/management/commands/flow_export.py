"""`soporte flow_export SLUG`: print a troubleshooting flow's current version as YAML."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from soporte.flows import services
from soporte.flows.models import Flow


class Command(BaseCommand):
    help = "Print a troubleshooting flow as YAML (its current version)."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, **options):
        flow = Flow.objects.filter(slug=options["slug"]).first()
        if flow is None:
            raise CommandError(f"No flow with the slug {options['slug']!r}.")
        self.stdout.write(services.export_flow(flow), ending="")
