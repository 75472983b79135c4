"""`soporte flow_import FILE` and `soporte flow_export SLUG`: a round trip through files,
and a clear error (nothing stored) for a bad file."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from soporte.flows.demo import EXAMPLES
from soporte.flows.models import Flow, FlowVersion

pytestmark = pytest.mark.django_db


def test_export_then_import_round_trips_through_a_file(tmp_path, capsys):
    call_command("flow_import", str(EXAMPLES / "sin-conexion.yaml"))
    assert "Imported sin-conexion as version 1" in capsys.readouterr().out
    call_command("flow_export", "sin-conexion")
    exported = capsys.readouterr().out
    assert "¿Está conectado por cable o por wifi?" in exported
    path = tmp_path / "again.yaml"
    path.write_text(exported, encoding="utf-8")
    call_command("flow_import", str(path))
    assert "unchanged (version 1)" in capsys.readouterr().out
    path.write_text(exported.replace("Wifi", "Wi-Fi"), encoding="utf-8")
    call_command("flow_import", str(path))
    assert Flow.objects.get().version == 2


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("slug: [", "could not be read"),
        ("slug: x\ntitle: X\nnodes:\n  - id: a\n    question: Q?\n", "Node 'a'"),
    ],
)
def test_a_bad_file_is_a_clear_error_and_stores_nothing(tmp_path, content, words):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(CommandError, match=words):
        call_command("flow_import", str(path))
    assert not FlowVersion.objects.exists()


def test_missing_files_and_slugs_are_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("flow_import", str(tmp_path / "nope.yaml"))
    with pytest.raises(CommandError, match="No flow"):
        call_command("flow_export", "nope")
