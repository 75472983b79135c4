"""Stored mail becomes tickets and replies: threading, senders, loops, quarantine, the
raw-MIME endpoint, and exactly-once processing across a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.test import Client

from soporte.mail.inbound import store_raw
from soporte.mail.models import KnownMessageId, Mailbox, OutboundMail, RawMessage, RawStatus
from soporte.tickets import services as tickets
from soporte.tickets.models import Channel, Status, Ticket

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "mail-samples"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def mail(
    subject="Printer broken",
    body="It prints blank pages.",
    sender="Maria Lopez <maria@acme.example>",
    msgid=None,
    headers=None,
    attachments=(),
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@soporte.example"
    message["Subject"] = subject
    message["Message-ID"] = msgid or make_msgid(domain="acme.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for name, payload, mime in attachments:
        maintype, subtype = mime.split("/")
        message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def ingest(raw: bytes, mailbox=None):
    """Store and process now (the test runs the on-commit step itself)."""
    from soporte.mail.services import process_raw_message

    stored, created = store_raw(raw, source="api", mailbox=mailbox)
    process_raw_message(stored.pk)
    stored.refresh_from_db()
    return stored, created


def test_a_new_message_opens_a_ticket_for_a_new_requester_of_the_domains_organization(acme, teams):
    mailbox = Mailbox.objects.create(
        name="Support", address="support@soporte.example", team=teams["L1"],
        host="127.0.0.1", username="x", password_env="X",
    )  # fmt: skip
    stored, created = ingest(mail(attachments=[("photo.png", PNG, "image/png")]), mailbox=mailbox)
    assert created and stored.status == RawStatus.DONE, stored.error
    ticket = stored.ticket
    assert ticket.subject == "Printer broken"
    assert ticket.channel == Channel.EMAIL
    assert ticket.team == teams["L1"]
    requester = ticket.requester
    assert (requester.email, requester.organization, requester.first_name) == (
        "maria@acme.example", acme, "Maria",
    )  # fmt: skip
    assert [a.filename for a in ticket.attachments.all()] == ["photo.png"]
    assert KnownMessageId.objects.filter(ticket=ticket, mail_id=stored.mail_id).exists()


def test_a_new_sender_whose_address_is_someone_elses_username_gets_the_next_free_one(acme):
    from soporte.accounts import services as accounts

    for n, name in enumerate(["Maria@acme.example", "maria@acme.example-2"]):
        accounts.create_user(acting_user=None, username=name, email=f"m{n}@other.example")
    stored, _ = ingest(mail())
    assert stored.status == RawStatus.DONE, stored.error
    requester = stored.ticket.requester
    assert (requester.username, requester.email) == (
        "maria@acme.example-3", "maria@acme.example",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("subject", "body", "headers", "language"),
    [
        ("Impresora", "Hola, la impresora no imprime desde ayer y no sé qué hacer.", {}, "es"),
        ("Printer", "Hello, the printer does not print and I do not know why.", {}, "en"),
        # What the mail client declared wins over the words.
        ("Printer", "The printer does not print at all.", {"Content-Language": "es-MX"}, "es"),
        # Nothing to go by: the site's language.
        ("VPN", "caída", {}, "en"),
    ],
)
def test_a_new_requester_from_mail_gets_the_language_they_wrote_in(
    acme, settings, subject, body, headers, language
):
    settings.LANGUAGE_CODE = "en"
    # Written raw at the top: set_content() drops the Content-* headers set before it.
    declared = "".join(f"{name}: {value}\n" for name, value in headers.items()).encode()
    stored, _ = ingest(declared + mail(subject=subject, body=body))
    assert stored.status == RawStatus.DONE, stored.error
    assert stored.ticket.requester.language == language
    from soporte.mail.outbound import build_message

    [ack] = OutboundMail.objects.filter(ticket=stored.ticket)
    greeting = {"en": "We received your request", "es": "Recibimos su solicitud"}[language]
    assert greeting in build_message(ack).body


def test_the_acknowledgement_is_recorded_with_the_ticket_not_by_one_more_job(acme):
    """Processing already runs in a worker: its change records its mail itself."""
    from soporte.jobs.models import Job

    stored, _ = ingest(mail())

    ack = OutboundMail.objects.get(ticket=stored.ticket)
    assert (ack.kind, ack.to) == ("ack", ["maria@acme.example"])
    assert not Job.objects.filter(name="mail.notify_change").exists()
    [send] = Job.objects.filter(name="mail.send_outbound")
    assert send.args == [ack.pk]


def test_should_recording_the_acknowledgement_fail_a_job_records_it(acme, monkeypatch):
    from soporte.jobs.models import Job
    from soporte.mail import outbound

    def broken(ticket, events):
        raise RuntimeError("template missing")

    monkeypatch.setattr(outbound, "record_for", broken)

    stored, _ = ingest(mail())

    assert stored.status == RawStatus.DONE, stored.error
    assert not OutboundMail.objects.exists()
    [job] = Job.objects.filter(name="mail.notify_change")
    created = stored.ticket.events.get(kind="created")
    assert job.args == [stored.ticket_id, [created.pk], created.actor_id]


def test_the_same_message_delivered_twice_gives_one_message(acme):
    raw = mail()
    first, created = ingest(raw)
    second, created_again = ingest(raw)
    assert created and not created_again
    assert first.pk == second.pk
    assert Ticket.objects.count() == 1
    assert first.ticket.messages.count() == 1


def test_a_reply_threads_by_in_reply_to_and_by_references(acme):
    first, _ = ingest(mail(msgid="<first@acme.example>"))
    reply, _ = ingest(
        mail(subject="Re: Printer broken", body="Still broken.",
             headers={"In-Reply-To": "<first@acme.example>"})
    )  # fmt: skip
    later, _ = ingest(
        mail(subject="again", body="And again.",
             headers={"References": "<unknown@x> <first@acme.example>"})
    )  # fmt: skip
    assert reply.ticket == first.ticket == later.ticket
    assert first.ticket.messages.count() == 3


def test_a_subject_token_threads_only_for_someone_who_may_see_the_ticket(maria, pedro):
    ticket = tickets.open_ticket(acting_user=maria, subject="VPN", body="down")
    own, _ = ingest(
        mail(subject=f"RE: AW: [#{ticket.number}] VPN", body="me again",
             sender=f"Maria <{maria.email}>")
    )  # fmt: skip
    assert own.ticket == ticket
    stranger, _ = ingest(
        mail(subject=f"[#{ticket.number}] let me in", body="hi", sender=f"P <{pedro.email}>")
    )
    assert stranger.ticket != ticket
    assert stranger.ticket.requester == pedro


def test_a_reply_from_someone_who_cannot_see_the_ticket_becomes_an_internal_note(maria):
    ticket = tickets.open_ticket(acting_user=maria, subject="VPN", body="down")
    from soporte.mail.services import remember_id

    remember_id("thread@acme.example", ticket)
    stored, _ = ingest(
        mail(body="I was CC'd", sender="Outsider <someone@else.example>",
             headers={"In-Reply-To": "<thread@acme.example>"})
    )  # fmt: skip
    assert stored.ticket == ticket
    assert stored.message.internal is True
    assert "someone@else.example" in stored.message.body_text


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(maria, alice):
    ticket = tickets.open_ticket(acting_user=maria, subject="VPN", body="down")
    tickets.resolve(ticket, acting_user=alice, resolution="fixed")
    tickets.close(ticket, acting_user=alice)
    stored, _ = ingest(
        mail(subject=f"[#{ticket.number}] VPN", body="it is back", sender=maria.email)
    )
    assert stored.ticket != ticket
    assert f"#{ticket.number}" in stored.message.body_text


def test_a_requester_reply_reopens_a_resolved_ticket(maria, alice):
    ticket = tickets.open_ticket(acting_user=maria, subject="VPN", body="down")
    tickets.resolve(ticket, acting_user=alice, resolution="fixed")
    ingest(mail(subject=f"Re: [#{ticket.number}] VPN", body="no", sender=maria.email))
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


@pytest.mark.parametrize("rule", ["known_users", "known_domains"])
def test_unknown_senders_are_quarantined_when_the_policy_says_so_and_can_be_retried(
    rule, settings, ada
):
    from soporte.mail.services import retry

    settings.MAIL_UNKNOWN_SENDERS = rule
    stored, _ = ingest(mail(sender="new@nowhere.example"))
    assert stored.status == RawStatus.QUARANTINED
    assert "not a known sender" in stored.error
    assert not Ticket.objects.exists()
    settings.MAIL_UNKNOWN_SENDERS = "accept_all"
    again = retry(stored.pk, acting_user=ada)
    assert again.status == RawStatus.DONE
    assert again.ticket is not None


def test_an_auto_reply_is_stored_and_tagged_so_it_is_never_answered(acme):
    stored, _ = ingest(mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"}))
    assert stored.status == RawStatus.DONE
    assert list(stored.ticket.tags.values_list("name", flat=True)) == ["auto-reply"]


def test_a_mail_storm_from_one_sender_is_held(acme, settings):
    settings.MAIL_SENDER_LIMIT_PER_HOUR = 3
    results = [ingest(mail(subject=f"storm {i}"))[0] for i in range(5)]
    assert [r.status for r in results].count(RawStatus.DONE) == 3
    assert "mail storm" in results[-1].error


def test_an_executable_attachment_is_left_out_and_named_in_the_text(acme):
    stored, _ = ingest(
        mail(attachments=[("tool.exe", b"MZ\x90\x00" * 10, "application/octet-stream"),
                          ("log.txt", b"error 42", "text/plain")])
    )  # fmt: skip
    assert stored.status == RawStatus.DONE
    assert [a.filename for a in stored.ticket.attachments.all()] == ["log.txt"]
    assert "tool.exe" in stored.message.body_text


def test_garbage_is_quarantined_with_the_reason_and_nothing_is_lost(db):
    stored, _ = ingest(b"\x00\x01 not a message")
    assert stored.status in (RawStatus.QUARANTINED, RawStatus.DONE)
    assert bytes(RawMessage.objects.get(pk=stored.pk).raw) == b"\x00\x01 not a message"
    if stored.status == RawStatus.QUARANTINED:
        assert stored.error


# -- the raw-MIME endpoint ----------------------------------------------------------


def post_raw(raw: bytes, token: str | None):
    headers = {"X-Soporte-Ingest-Token": token} if token else {}
    return Client().post(
        "/api/v1/mail/inbound", raw, content_type="message/rfc822", headers=headers
    )


def test_the_inbound_endpoint_needs_the_ingest_token(settings, acme):
    settings.MAIL_INGEST_TOKEN = "s3cret-token"
    assert post_raw(mail(), None).status_code == 403
    assert post_raw(mail(), "wrong").status_code == 403
    assert not RawMessage.objects.exists()


def test_the_inbound_endpoint_stores_once_and_says_so(
    settings, acme, django_capture_on_commit_callbacks
):
    settings.MAIL_INGEST_TOKEN = "s3cret-token"
    raw = mail()
    with django_capture_on_commit_callbacks(execute=True):
        first = post_raw(raw, "s3cret-token")
    assert first.status_code == 202
    assert first.json()["duplicate"] is False
    second = post_raw(raw, "s3cret-token")
    assert second.json() == {**first.json(), "duplicate": True, "status": "done"}
    assert Ticket.objects.count() == 1


def test_the_inbound_endpoint_refuses_oversized_mail(settings, db):
    settings.MAIL_INGEST_TOKEN = "t"
    settings.MAIL_MAX_BYTES = 2000
    response = post_raw(mail(body="x" * 5000), "t")
    assert response.status_code == 413
    assert not RawMessage.objects.exists()


def test_admins_see_and_retry_the_quarantine(settings, ada, maria, api):
    settings.MAIL_UNKNOWN_SENDERS = "known_users"
    stored, _ = ingest(mail(sender="x@unknown.example"))
    listing = api(ada).get("/mail/quarantine")
    assert [row["id"] for row in listing.json()] == [stored.pk]
    assert api(maria).get("/mail/quarantine").status_code == 403


# -- real messages that broke a peer ------------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in SAMPLES.glob("*.eml")) if SAMPLES.is_dir() else ["(missing)"],
)
def test_real_problem_messages_become_tickets(name, db):
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} is absent (it comes with the shared folder)")
    stored, _ = ingest((SAMPLES / name).read_bytes())
    assert stored.status == RawStatus.DONE, stored.error
    assert stored.ticket.subject
    assert stored.message.body_text


# -- exactly once across a crash -------------------------------------------------------

CRASH_SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "soporte.settings"
    import django
    django.setup()
    from django.core.management import call_command
    from soporte.mail.models import RawMessage
    from soporte.mail.services import process_pending_messages
    from soporte.tickets import services as tickets
    from soporte.tickets.models import Message, Ticket

    phase = sys.argv[1]
    if phase == "setup":
        call_command("migrate", verbosity=0)
        from soporte.mail import inbound
        from soporte.mail.inbound import store_raw
        inbound._schedule = lambda raw_id: None  # stored; the worker is not running yet
        for path in sys.argv[2:]:
            store_raw(open(path, "rb").read(), source="smtp")
    elif phase == "crash":
        real = tickets.open_ticket
        calls = {"n": 0}
        def dying(*args, **kwargs):
            ticket = real(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] == 3:  # the third ticket is written, not yet committed
                os.kill(os.getpid(), signal.SIGKILL)
            return ticket
        tickets.open_ticket = dying
        process_pending_messages()
    elif phase == "recover":
        process_pending_messages()
        print(json.dumps({
            "raw": list(RawMessage.objects.values_list("status", flat=True)),
            "tickets": Ticket.objects.count(),
            "messages": Message.objects.count(),
            "linked": RawMessage.objects.exclude(ticket=None).values("ticket").distinct().count(),
        }))
    """
)


@pytest.mark.slow
def test_a_process_killed_mid_processing_leaves_every_message_processed_exactly_once(tmp_path):
    # The stored messages are eml files the child process reads.
    paths = []
    for i in range(5):
        path = tmp_path / f"m{i}.eml"
        path.write_bytes(mail(subject=f"crash {i}", sender=f"user{i}@acme.example"))
        paths.append(str(path))
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    env = {
        **os.environ,
        "SOPORTE_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.sqlite3'}",
        "SOPORTE_VAR_DIR": str(tmp_path / "var"),
        "SOPORTE_SECRET_KEY": "test",
        "SOPORTE_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    env.pop("SOPORTE_BROKER_URL", None)

    def run(*args):
        return subprocess.run(
            [sys.executable, str(script), *args], env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    assert run("setup", *paths).returncode == 0
    crashed = run("crash")
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    recovered = run("recover")
    assert recovered.returncode == 0, recovered.stderr[-2000:]
    counts = json.loads(recovered.stdout.strip().splitlines()[-1])
    assert counts == {"raw": ["done"] * 5, "tickets": 5, "messages": 5, "linked": 5}


@pytest.mark.parametrize(("action", "failed"), [("failed", True), ("delayed", False)])
def test_a_bounce_is_noted_on_its_ticket_and_fails_the_mail_only_when_final(action, failed, maria):
    from soporte.mail.models import OutboundMail, OutboundStatus
    from soporte.mail.services import remember_id

    from .messages import bounce

    ticket = tickets.open_ticket(acting_user=maria, subject="VPN", body="down")
    sent = mail(sender="support@soporte.example", msgid="<out-1@soporte.example>")
    remember_id("out-1@soporte.example", ticket)
    OutboundMail.objects.create(
        ticket=ticket, kind="ack", dedupe_key="k", to=[maria.email], subject="x",
        mail_id="out-1@soporte.example",
    )  # fmt: skip
    stored, _ = ingest(bounce(sent, action=action))
    assert stored.status == RawStatus.DONE, stored.error
    assert stored.ticket == ticket
    assert stored.message.internal
    assert Ticket.objects.count() == 1
    status = OutboundMail.objects.get().status
    assert (status == OutboundStatus.FAILED) is failed
