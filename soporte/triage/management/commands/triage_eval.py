"""`soporte triage-eval` (also `soporte triage_eval`): generate labelled synthetic tickets
in English and Spanish with injected storms, train on the older ones and print the
classifier's accuracy and macro-F1 on the newest, and the storm detector's precision,
recall and detection delay. Touches no database."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from soporte.triage import ml, synthetic


class Command(BaseCommand):
    help = "Measure triage on generated tickets: accuracy, macro-F1, storm precision/recall."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=1500)
        parser.add_argument("--storms", type=int, default=6)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--storm-size", type=int, default=5)
        parser.add_argument("--storm-minutes", type=int, default=30)
        parser.add_argument("--similarity", type=float, default=0.3)
        parser.add_argument("--json", action="store_true", help="Print the numbers as JSON.")

    def handle(self, *args, **options):
        rows = synthetic.generate(
            options["tickets"], seed=options["seed"], storms=options["storms"]
        )
        rules = ml.StormRules(
            size=options["storm_size"],
            minutes=options["storm_minutes"],
            similarity=options["similarity"],
        )
        result = synthetic.evaluate(rows, rules)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, sort_keys=True))
            return
        self.stdout.write(f"{len(rows):,} tickets (seed {options['seed']})")
        self.stdout.write(
            f"{'language':<9}{'field':<10}{'accuracy':>9}{'macro-F1':>10}{'tested':>8}"
        )
        for language, fields in sorted(result["classifier"].items()):
            for field, scores in sorted(fields.items()):
                self.stdout.write(
                    f"{language:<9}{field:<10}{scores['accuracy']:>9.3f}"
                    f"{scores['macro_f1']:>10.3f}{scores['test']:>8}"
                )
        storms = result["storms"]
        self.stdout.write(
            f"storms: {storms['injected']} injected, {storms['detected']} detected; "
            f"precision {storms['precision']:.3f}, recall {storms['recall']:.3f}; "
            f"delay mean {storms['delay_minutes_mean']} min, max {storms['delay_minutes_max']} min"
        )
