"""The agent for real: it runs on this machine, as its own process, against a live
server, and the machine appears with its hostname and its dpkg packages."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from soporte.assets import services
from soporte.assets.models import Asset, AssetEvent

from .conftest import AGENT_DIR

pytestmark = pytest.mark.skipif(
    shutil.which("dpkg-query") is None, reason="needs a Debian-family machine (dpkg)"
)


def _run_agent(server: str, key: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(AGENT_DIR), "SOPORTE_AGENT_TOKEN": key}
    return subprocess.run(
        [sys.executable, "-m", "soporte_agent", "--server", server, *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _dpkg_packages() -> set[str]:
    listed = subprocess.run(
        ["dpkg-query", "-W", "-f=${binary:Package}\\t${db:Status-Abbrev}\\n"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {
        line.split("\t")[0].split(":")[0]
        for line in listed.splitlines()
        if line.split("\t")[1][:2] in ("ii", "hi")
    }


@pytest.mark.django_db(transaction=True)
def test_the_agent_reports_this_machine_to_a_live_server(live_server, ada):
    # given
    _token, key = services.create_enrollment_token(acting_user=ada, name="This machine")

    # when
    first = _run_agent(live_server.url, key)

    # then
    assert first.returncode == 0, first.stderr
    asset = Asset.objects.get(hostname=socket.gethostname())
    assert "recorded as " + asset.tag in first.stdout
    installed = {item.name for item in services.installed_software(asset)}
    assert installed == _dpkg_packages()
    assert {"dpkg", "bash"} <= installed
    assert asset.ram_mb > 0 and asset.os_name and asset.interfaces

    # and a second run updates the same asset, recording nothing new
    events = AssetEvent.objects.filter(asset=asset).count()
    second = _run_agent(live_server.url, key)
    assert second.returncode == 0, second.stderr
    assert "updated " + asset.tag in second.stdout
    assert Asset.objects.filter(hostname=socket.gethostname()).count() == 1
    assert AssetEvent.objects.filter(asset=asset).count() == events


@pytest.mark.django_db(transaction=True)
def test_the_agent_says_why_the_server_refused_it(live_server):
    done = _run_agent(live_server.url, "enr_0123456789ab_wrong", "--no-software")
    assert done.returncode == 1
    assert "valid enrollment token" in done.stderr
    assert not Asset.objects.exists()


def test_the_agent_needs_a_server_and_a_token():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPORTE_AGENT")}
    done = subprocess.run(
        [sys.executable, "-m", "soporte_agent"],
        env={**env, "PYTHONPATH": str(AGENT_DIR)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "--server and --token" in done.stderr


def test_the_dry_run_prints_the_report():
    done = subprocess.run(
        [sys.executable, "-m", "soporte_agent", "--dry-run", "--no-software"],
        env={**os.environ, "PYTHONPATH": str(AGENT_DIR)}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert f'"hostname": "{socket.gethostname()}"' in done.stdout


def test_an_unreachable_server_is_reported_not_a_traceback():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = _run_agent(f"http://127.0.0.1:{port}", "enr_x_y", "--no-software", "--timeout", "2")
    assert done.returncode == 1
    assert "could not reach" in done.stderr and "Traceback" not in done.stderr
