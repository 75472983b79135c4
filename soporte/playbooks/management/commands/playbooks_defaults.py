"""`soporte playbooks_defaults`: create the shipped checklist templates that are missing
(malware removal, data recovery, OS install, peripheral install, network connection)
and link them to the categories named for them."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from soporte.playbooks.defaults import ensure_default_templates


class Command(BaseCommand):
    help = "Create the default checklist templates that are missing (safe to run again)."

    def handle(self, *args, **options):
        made = ensure_default_templates()
        self.stdout.write(f"Created {made} checklist templates.")
