"""`soporte triage_train`: learn a new triage model from the history now and print its
accuracy and macro-F1 on the held-out (newest) tickets."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from soporte.lib.errors import ServiceError
from soporte.triage.services import train_model


class Command(BaseCommand):
    help = "Train the triage model (category, priority, team) from the ticket history."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, seed: int, **options):
        try:
            row = train_model(seed=seed)
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Model version {row.version}, learned from {row.samples:,} tickets.")
        for field, scores in sorted(row.metrics.get("overall", {}).items()):
            self.stdout.write(
                f"  {field:<9} accuracy {scores['accuracy']:.3f}  "
                f"macro-F1 {scores['macro_f1']:.3f}  ({scores['test']} held out)"
            )
