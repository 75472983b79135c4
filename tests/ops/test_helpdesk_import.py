"""Moving in from django-helpdesk: a 2.6.1 site made by the test itself (its own
virtualenv from PyPI, bench/.peer) is imported; everything arrives once, with its times,
files and passwords, silently (no mail), and a second run adds nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils.dateparse import parse_datetime

from soporte.accounts import policy
from soporte.accounts.models import Role, Team, User
from soporte.kb.models import Article, ArticleStatus
from soporte.mail.models import OutboundMail
from soporte.ops.models import ImportedRecord
from soporte.search.queries import search_tickets
from soporte.tickets.models import Attachment, Message, MessageKind, Status, Ticket

ROOT = Path(__file__).resolve().parents[2]
SITE_SCRIPT = Path(__file__).with_name("helpdesk_site.py")


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import peer
    finally:
        sys.path.remove(str(ROOT / "bench"))
    problem = peer.ensure_venv()
    if problem:
        pytest.fail(f"django-helpdesk could not be installed from PyPI: {problem}")
    # The site takes minutes to make (django-helpdesk's migrations); one made by this very
    # script is kept beside the peer's virtualenv for the next run (the other database's).
    digest = hashlib.sha256(SITE_SCRIPT.read_bytes()).hexdigest()[:16]
    kept = peer.VENV / f"site-{digest}"
    if not (kept / "made.json").exists():
        building = Path(tempfile.mkdtemp(prefix="site-", dir=peer.VENV))
        made = subprocess.run(
            [str(peer._venv_python()), str(SITE_SCRIPT),
             str(building / "helpdesk.sqlite3"), str(building / "media")],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr[-3000:]
        (building / "made.json").write_text(made.stdout.strip().splitlines()[-1])
        shutil.rmtree(kept, ignore_errors=True)
        building.rename(kept)
    folder = tmp_path_factory.mktemp("helpdesk")  # a copy: the test must not change the kept one
    shutil.copytree(kept, folder, dirs_exist_ok=True)
    db, media = folder / "helpdesk.sqlite3", folder / "media"
    return db, media, json.loads((folder / "made.json").read_text())


def _import(db: Path, media: Path) -> str:
    from io import StringIO

    out = StringIO()
    call_command(
        "import", "django-helpdesk", database_url=f"sqlite:///{db}", media_root=media,
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    return out.getvalue()


@pytest.mark.django_db
def test_a_django_helpdesk_site_moves_in_once_with_its_history(helpdesk, ada):
    db, media, made = helpdesk
    report = _import(db, media)
    imported = Ticket.objects.filter(tags__name="django-helpdesk")
    assert imported.count() == made["tickets"]
    assert "tickets: 12 new" in report

    # Times as they were.
    with sqlite3.connect(db) as source:
        rows = source.execute("SELECT id, created, title, status FROM helpdesk_ticket").fetchall()
    mapped = dict(
        ImportedRecord.objects.filter(kind="ticket").values_list("source_id", "target_id")
    )
    for source_id, created, title, status in rows:
        ticket = Ticket.objects.get(pk=mapped[str(source_id)])
        assert ticket.subject == title
        assert ticket.created_at == parse_datetime(created).replace(tzinfo=UTC)
        expected = {1: Status.OPEN, 2: Status.OPEN, 3: Status.RESOLVED}.get(status, Status.CLOSED)
        assert ticket.status == expected
    assert imported.filter(tags__name="duplicate").count() == 2

    messages = Message.objects.filter(ticket__in=imported)
    assert messages.count() == made["tickets"] + made["followups"]
    notes = messages.filter(kind=MessageKind.NOTE, internal=True).count()
    assert notes == made["followups"] - made["public_followups"]
    files = Attachment.objects.filter(ticket__in=imported)
    assert files.count() == made["files"]
    for attachment in files:
        assert attachment.file.read().startswith(b"log of ticket")

    # People: roles from staff flags, passwords kept, walk-in addresses became requesters.
    assert User.objects.get(username="boss").role == Role.ADMIN
    tech = User.objects.get(username="tech")
    assert tech.role == Role.AGENT and tech.check_password("pw-tech-123")
    ana = User.objects.get(username="ana")
    assert ana.check_password("pw-ana-123") and not ana.is_agent
    assert policy.visible_tickets(ana).filter(pk__in=imported).count() == 4
    assert User.objects.filter(email__endswith="@outside.example").count() == 4
    assert set(Team.objects.values_list("name", flat=True)) >= {"Hardware", "Accounts"}
    # Odd tickets went to the Accounts queue and were assigned to tech.
    assert list(tech.teams.values_list("name", flat=True)) == ["Accounts"]

    articles = Article.objects.filter(title__in=["Clearing a jam", "Old driver"])
    assert dict(articles.values_list("title", "status")) == {
        "Clearing a jam": ArticleStatus.PUBLISHED,
        "Old driver": ArticleStatus.DRAFT,
    }
    assert OutboundMail.objects.count() == 0, "history is imported silently"
    assert len(search_tickets(ada, "printer jams").items) >= 1

    # Again: nothing new.
    again = _import(db, media)
    assert Ticket.objects.filter(tags__name="django-helpdesk").count() == made["tickets"]
    assert Message.objects.filter(ticket__in=imported).count() == messages.count()
    assert "tickets: 0 new, 0 matched to existing, 12 already imported" in again


@pytest.mark.django_db
def test_what_is_not_a_helpdesk_database_is_refused_by_name(tmp_path):
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE things (id integer)").connection.commit()
    with pytest.raises(CommandError, match="not a django-helpdesk database"):
        call_command("import", "django-helpdesk", database_url=f"sqlite:///{other}")
    with pytest.raises(CommandError, match="unsupported database URL"):
        call_command("import", "django-helpdesk", database_url="mysql://x/y")
    with pytest.raises(CommandError, match="cannot open"):
        call_command("import", "django-helpdesk", database_url=f"sqlite:///{tmp_path}/none.db")
    assert Ticket.objects.count() == 0
