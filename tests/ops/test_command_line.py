"""The `soporte` command takes a command's name with dashes or underscores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from soporte.__main__ import command_name

ROOT = Path(__file__).resolve().parents[2]


def test_a_name_is_taken_as_written_else_with_dashes_and_underscores_swapped():
    known = {"mail_receive", "check-deploy", "migrate"}
    assert command_name("mail-receive", known) == "mail_receive"
    assert command_name("mail_receive", known) == "mail_receive"
    assert command_name("check_deploy", known) == "check-deploy"
    assert command_name("migrate", known) == "migrate"
    assert command_name("no-such", known) == "no-such"
    assert command_name("--help", known) == "--help"


def soporte(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SOPORTE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "SOPORTE_VAR_DIR": str(tmp_path / "var"),
        "SOPORTE_SECRET_KEY": "test",
    }
    return subprocess.run(
        [sys.executable, "-m", "soporte", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("name", ["mail-receive", "mail_receive"])
def test_the_smtp_receiver_answers_to_both_spellings(name, tmp_path):
    done = soporte(name, "--help", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--port" in done.stdout and "--lmtp" in done.stdout


def test_an_unknown_command_is_named_without_a_traceback(tmp_path):
    done = soporte("mail-recieve", tmp_path=tmp_path)
    assert done.returncode == 1
    assert "Unknown command: 'mail-recieve'" in done.stderr
    assert "Traceback" not in done.stderr
