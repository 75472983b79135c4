"""`soporte check-deploy`: what is unsafe or missing for production; exit 1 on an error."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from soporte.ops.deploycheck import findings


class Command(BaseCommand):
    help = "Report unsafe settings (debug on, weak secret, no HTTPS cookies, missing broker...)."

    def handle(self, *args, **options):
        found = findings()
        for finding in found:
            style = self.style.ERROR if finding.level == "error" else self.style.WARNING
            self.stdout.write(style(f"{finding.level.upper()}: {finding.what}"))
            self.stdout.write(f"    {finding.fix}")
        errors = sum(finding.level == "error" for finding in found)
        if errors:
            raise CommandError(f"{errors} problem(s) to fix before serving this site to people.")
        self.stdout.write(self.style.SUCCESS("No problems found."))
