"""`soporte triage_train` and `soporte triage-eval`."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from soporte.triage.models import TriageModel


def test_triage_train_learns_a_version_and_prints_its_scores(history):
    out = StringIO()
    call_command("triage_train", stdout=out)
    row = TriageModel.objects.get()
    text = out.getvalue()
    assert f"Model version {row.version}" in text
    assert f"macro-F1 {row.metrics['overall']['category']['macro_f1']:.3f}" in text


def test_triage_train_without_history_says_why(db):
    with pytest.raises(CommandError, match="Not enough history"):
        call_command("triage_train", stdout=StringIO())


def test_triage_eval_prints_the_same_numbers_under_either_name():
    args = ["--tickets", "400", "--storms", "3", "--seed", "2"]
    first, second = StringIO(), StringIO()
    call_command("triage_eval", *args, "--json", stdout=first)
    call_command("triage-eval", *args, "--json", stdout=second)
    numbers = json.loads(first.getvalue())
    assert numbers == json.loads(second.getvalue())
    assert numbers["storms"]["injected"] == 3
    assert 0 <= numbers["classifier"]["overall"]["category"]["macro_f1"] <= 1
    table = StringIO()
    call_command("triage-eval", *args, stdout=table)
    assert f"recall {numbers['storms']['recall']:.3f}" in table.getvalue()
