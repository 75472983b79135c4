"""`soporte backup` and `soporte restore` as an admin runs them: real processes on real
databases. A populated SQLite instance (the demo, plus stored files) is backed up while
another process keeps opening tickets, restored into a fresh PostgreSQL database and a
fresh SQLite file, and backed up again there: every table's row count and hash and every
file's hash must come out the same. Bad archives and unsafe targets are refused with a
message, changing nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG = ("127.0.0.1", 5432)
PG_DB = "soporte_ops_restore"

# What a busy site does while the backup runs: open tickets, one transaction each.
WRITER = textwrap.dedent(
    """
    import sys, time
    import django
    django.setup()
    from soporte.accounts.models import User
    from soporte.tickets import services
    requester = User.objects.get(username=sys.argv[1])
    stop = time.monotonic() + float(sys.argv[2])
    count = 0
    while time.monotonic() < stop:
        services.open_ticket(acting_user=requester, subject=f"Busy {count}", body="Load.")
        count += 1
    print(count)
    """
)

CHECK = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from django.db.models import Count
    from soporte.accounts.models import User
    from soporte.search.queries import search_tickets
    from soporte.tickets import services
    from soporte.tickets.models import EventKind, Ticket, TicketEvent
    created = TicketEvent.objects.filter(kind=EventKind.CREATED).count()
    no_message = Ticket.objects.annotate(n=Count("messages")).filter(n=0).count()
    agent = User.objects.filter(is_superuser=True).first()
    first = Ticket.objects.order_by("id").first()
    requester = first.requester
    word = max(first.subject.split(), key=len)
    # The sequences follow the restored ids: a new ticket gets a fresh number.
    new = services.open_ticket(acting_user=requester, subject="After restore", body="Fine.")
    print(json.dumps({
        "tickets": Ticket.objects.count() - 1, "created_events": created,
        "without_message": no_message, "new_number": new.number,
        "max_before": Ticket.objects.exclude(pk=new.pk).order_by("-number").first().number,
        "found": len(search_tickets(agent, word).items),
    }))
    """
)


def _pg_answers() -> bool:
    try:
        socket.create_connection(PG, 2).close()
    except OSError:
        return False
    return True


class Site:
    """An instance of its own: a database and a media folder, commands run against them."""

    def __init__(self, tmp_path: Path, name: str, database_url: str):
        self.media = tmp_path / f"{name}-media"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "soporte.settings",
            "PYTHONPATH": str(ROOT),
            "SOPORTE_DATABASE_URL": database_url,
            "SOPORTE_MEDIA_ROOT": str(self.media),
            "SOPORTE_VAR_DIR": str(tmp_path / f"{name}-var"),
            "SOPORTE_SECRET_KEY": "test",
            "SOPORTE_JOBS_MODE": "eager",
            "SOPORTE_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
        self.env.pop("SOPORTE_BROKER_URL", None)
        self.tmp = tmp_path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, *args],
            env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if check:
            assert done.returncode == 0, done.stderr[-3000:]
        return done

    def soporte(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("-m", "soporte", *args, check=check)

    def script(self, name: str, text: str, *args: str, check: bool = True):
        path = self.tmp / f"{name}.py"
        path.write_text(text)
        return self.run(str(path), *args, check=check)

    def popen(self, name: str, text: str, *args: str) -> subprocess.Popen:
        path = self.tmp / f"{name}.py"
        path.write_text(text)
        return subprocess.Popen(
            [sys.executable, str(path), *args],
            env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip


def manifest(path: Path) -> dict:
    with tarfile.open(path) as tar:
        return json.load(tar.extractfile("manifest.json"))


ATTACH = textwrap.dedent(
    """
    import django
    django.setup()
    import io
    from soporte.tickets import services
    from soporte.tickets.models import Ticket
    ticket = Ticket.objects.order_by("id").first()
    for i, content in enumerate([b"printer log\\n" * 500, b"second file, other words\\n" * 90]):
        services.add_attachment(
            ticket, acting_user=ticket.requester, upload=io.BytesIO(content),
            filename=f"log{i}.txt", size=len(content),
        )
    """
)


@pytest.fixture
def source(tmp_path) -> Site:
    site = Site(tmp_path, "source", f"sqlite:///{tmp_path / 'source.sqlite3'}")
    site.soporte("migrate", "-v0")
    site.soporte("demo")
    site.script("attach", ATTACH)
    return site


def _same(first: dict, second: dict) -> None:
    assert first["tables"] == second["tables"]
    assert first["files"] == second["files"]
    assert first["migrations"] == second["migrations"]


@pytest.mark.slow
def test_round_trip_sqlite_to_postgresql_and_sqlite_while_the_site_is_busy(source, tmp_path):
    if not _pg_answers():
        pytest.skip("PostgreSQL is not answering on 127.0.0.1:5432")
    archive = tmp_path / "site.tar"
    writer = source.popen("writer", WRITER, "maria", "6")
    source.soporte("backup", str(archive))
    opened_meanwhile = int(writer.communicate(timeout=120)[0])
    assert writer.returncode == 0
    first = manifest(archive)
    assert first["files"], "the attachments are in the archive"
    assert first["tables"]["tickets.ticket"]["rows"] >= 3
    # One moment of the database: every ticket in it has its creation event and message.
    tickets = first["tables"]["tickets.ticket"]["rows"]
    assert opened_meanwhile > 0

    psql = ["psql", "-h", PG[0], "-U", "postgres", "-q", "-c"]
    subprocess.run([*psql, f"DROP DATABASE IF EXISTS {PG_DB}"], check=True, capture_output=True)
    subprocess.run([*psql, f"CREATE DATABASE {PG_DB}"], check=True, capture_output=True)
    try:
        for name, url in [
            ("postgres", f"postgres://postgres@{PG[0]}:{PG[1]}/{PG_DB}"),
            ("sqlite", f"sqlite:///{tmp_path / 'copy.sqlite3'}"),
        ]:
            target = Site(tmp_path, name, url)
            restored = target.soporte("restore", str(archive))
            assert "Restored" in restored.stdout
            again = tmp_path / f"{name}.tar"
            target.soporte("backup", str(again))
            _same(first, manifest(again))
            for stored, expected in first["files"].items():
                assert (target.media / stored).read_bytes().__len__() == expected["size"]
            facts = json.loads(target.script("check", CHECK).stdout)
            assert facts["tickets"] == tickets
            assert facts["created_events"] == tickets
            assert facts["without_message"] == 0
            assert facts["new_number"] > facts["max_before"]
            assert facts["found"] >= 1, "the search index was rebuilt"
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {PG_DB}"], capture_output=True)


def _tamper(archive: Path, out: Path, table: str) -> None:
    with tarfile.open(archive) as tar, tarfile.open(out, "w") as copy:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == f"data/{table}.jsonl":
                data = data.replace(b"Acme", b"Evil", 1)
                member.size = len(data)
            import io

            copy.addfile(member, io.BytesIO(data))


def test_bad_archives_and_unsafe_targets_are_refused_changing_nothing(source, tmp_path):
    archive = tmp_path / "site.tar"
    source.soporte("backup", str(archive))
    refused = source.soporte("backup", str(archive), check=False)
    assert refused.returncode != 0 and "exists" in refused.stderr

    target = Site(tmp_path, "target", f"sqlite:///{tmp_path / 'target.sqlite3'}")
    not_tar = tmp_path / "notes.txt"
    not_tar.write_text("hello")
    for path, words in [
        (not_tar, "is not a backup archive"),
        (tmp_path / "absent.tar", "no such file"),
    ]:
        done = target.soporte("restore", str(path), check=False)
        assert done.returncode != 0 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr

    # A restored site refuses to be overwritten without --replace, and a damaged archive
    # leaves it as it was.
    target.soporte("restore", str(archive))
    again = target.soporte("restore", str(archive), check=False)
    assert again.returncode != 0 and "--replace" in again.stderr
    damaged = tmp_path / "damaged.tar"
    _tamper(archive, damaged, "accounts.organization")
    done = target.soporte("restore", "--replace", str(damaged), check=False)
    assert done.returncode != 0 and "accounts.organization" in done.stderr, done.stderr
    after = tmp_path / "after.tar"
    target.soporte("backup", str(after))
    _same(manifest(archive), manifest(after))
