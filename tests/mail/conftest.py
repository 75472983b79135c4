"""Real mail servers for the inbound tests: a throw-away dovecot (IMAP) started once per
session, and the SMTP/LMTP receiver started per test; plus a small message builder.

Dovecot runs as root with a generated config on free loopback ports (see
/work/shared/services.md): a passwd-file with a pool of users, so each test polls its
own empty mailbox; mail processes run as nobody. With openssl at hand it also speaks
TLS (IMAPS and STARTTLS) with a self-signed certificate for 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import imaplib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

DOVECOT = "/usr/sbin/dovecot"
POOL_SIZE = 200
_serial = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_message(
    subject: str = "The printer is jammed",
    body: str = "It jams on every page.",
    *,
    sender: str = "maria@acme.example",
    to: str = "support@soporte.example",
    message_id: str | None = None,
    padding: int = 0,
) -> bytes:
    """A small RFC 5322 message as bytes (CRLF); `padding` adds that many body bytes."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(f"t{next(_serial)}", "acme.example")
    text = body + "\n"
    if padding:
        text += ("x" * 76 + "\n") * (padding // 77 + 1)
    message.set_content(text)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


@pytest.fixture
def make_mail():
    """make_mail(subject=..., body=..., sender=..., message_id=..., padding=...) -> bytes"""
    return build_message


class Dovecot:
    """A running test dovecot: hands out accounts and looks into their folders."""

    def __init__(self, base: Path, port: int, tls_port: int | None, ca_file: Path | None):
        self.base = base
        self.port = port
        self.tls_port = tls_port
        self.ca_file = ca_file
        self.log = base / "dovecot.log"
        self._users = iter(range(1, POOL_SIZE + 1))

    def account(self) -> tuple[str, str]:
        """A user no other test has touched: (username, password)."""
        try:
            number = next(self._users)
        except StopIteration:
            pytest.fail(f"the dovecot fixture has only {POOL_SIZE} users; raise POOL_SIZE")
        return f"user{number:03d}", f"pw-{number:03d}"

    @contextlib.contextmanager
    def client(self, user: str, password: str) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            imap.login(user, password)
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(self, user: str, password: str, *messages: bytes, folder: str = "INBOX"):
        with self.client(user, password) as imap:
            for raw in messages:
                typ, data = imap.append(folder, None, None, raw)
                assert typ == "OK", data

    def flags(self, user: str, password: str, folder: str = "INBOX") -> dict[int, set[str]]:
        """{uid: flags} of every message in the folder (read-only look)."""
        with self.client(user, password) as imap:
            typ, data = imap.select(folder, readonly=True)
            assert typ == "OK", data
            typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS)")
            result = {}
            for item in data:
                if not isinstance(item, bytes):
                    continue
                text = item.decode()
                uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
                flags = text.split("FLAGS (", 1)[1].split(")", 1)[0].split()
                result[uid] = set(flags)
            return result

    def tail_log(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _config(base: Path, port: int, tls_port: int | None) -> str:
    tls = (
        f"""ssl = yes
ssl_cert = <{base}/cert.pem
ssl_key = <{base}/key.pem
"""
        if tls_port
        else "ssl = no\n"
    )
    imaps = (
        f"""  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
"""
        if tls_port
        else """  inet_listener imaps {
    port = 0
  }
"""
    )
    # Each block on its own lines: doveconf rejects "{ a = b }" on one line.
    return f"""protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={base}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
{imaps}}}
# No growing delay after a failed login from 127.0.0.1: the tests fail some on purpose.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _self_signed_certificate(base: Path) -> bool:
    openssl = shutil.which("openssl")
    if not openssl:
        return False
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(base / "key.pem"), "-out", str(base / "cert.pem"),
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    (base / "key.pem").chmod(0o644)
    return True


def _wait_for_greeting(port: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for init to reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A real dovecot on free loopback ports for the whole session, stopped at the end."""
    if not Path(DOVECOT).exists():
        pytest.skip(f"{DOVECOT} is missing: apt-get install dovecot-imapd (make test does)")
    if os.geteuid() != 0:
        pytest.skip("the test dovecot must start as root (it switches to nobody for mail)")
    base = Path(tempfile.mkdtemp(prefix="soporte-dovecot-"))
    # Dovecot's unprivileged processes must traverse it; mail homes belong to nobody.
    base.chmod(0o755)
    for name in ("run", "state", "home"):
        (base / name).mkdir()
    shutil.chown(base / "home", "nobody", "nogroup")
    passwd = base / "passwd"
    passwd.write_text(
        "".join(f"user{n:03d}:{{PLAIN}}pw-{n:03d}\n" for n in range(1, POOL_SIZE + 1))
    )
    passwd.chmod(0o644)
    tls_port = free_port() if _self_signed_certificate(base) else None
    port = free_port()
    conf = base / "dovecot.conf"
    conf.write_text(_config(base, port, tls_port))
    server = Dovecot(base, port, tls_port, base / "cert.pem" if tls_port else None)
    # Output to a file, not a pipe: the daemon keeps its inherited descriptors open.
    with open(base / "start.log", "wb") as output:
        started = subprocess.run(
            [DOVECOT, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
    pid_file = base / "run" / "master.pid"
    try:
        if started.returncode != 0 or not _wait_for_greeting(port):
            pytest.fail(
                f"dovecot did not start: {(base / 'start.log').read_text(errors='replace')}"
                f"\n{server.tail_log()}",
                pytrace=False,
            )
        yield server
    finally:
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def imap_account(dovecot) -> tuple[str, str]:
    """(username, password) of a fresh, empty account on the test dovecot."""
    return dovecot.account()


@pytest.fixture
def make_mailbox(dovecot, imap_account, monkeypatch):
    """make_mailbox(**overrides) -> a Mailbox polling the test account over plain IMAP,
    its password in SOPORTE_TEST_IMAP_PASSWORD."""
    from soporte.mail.models import Mailbox

    user, password = imap_account
    monkeypatch.setenv("SOPORTE_TEST_IMAP_PASSWORD", password)

    def make(**overrides) -> Mailbox:
        fields = {
            "name": f"Support {next(_serial)}",
            "address": "support@soporte.example",
            "host": "127.0.0.1",
            "port": dovecot.port,
            "security": "plain",
            "username": user,
            "password_env": "SOPORTE_TEST_IMAP_PASSWORD",
            **overrides,
        }
        return Mailbox.objects.create(**fields)

    return make


@pytest.fixture
def smtp_receiver():
    """smtp_receiver(lmtp=False) -> a started ReceiverController on a free loopback port
    (its .port); stopped after the test."""
    from soporte.mail.smtp import ReceiverController

    started = []

    def start(*, lmtp: bool = False, **kwargs) -> ReceiverController:
        controller = ReceiverController(host="127.0.0.1", port=free_port(), lmtp=lmtp, **kwargs)
        controller.start()
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()


class Sink:
    """An SMTP handler keeping what it accepted; ``refuse`` lists replies to give first
    (e.g. "451 ..."), one per message, and ``refuse_rcpt`` refuses every recipient."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.refuse: list[str] = []
        self.refuse_rcpt = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse.pop(0)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free loopback port, and Django sending to it."""
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://help.example"
    settings.MAIL_DOMAIN = "help.example"
    yield sink
    controller.stop()


@pytest.fixture
def recorded(acme, maria, settings):
    """Three acknowledgements recorded (the changes committed without running the jobs):
    the ids of their OutboundMails."""
    from soporte.jobs import queue
    from soporte.mail.models import OutboundMail
    from soporte.tickets import services

    from ..conftest import make_user

    settings.JOBS_MODE = "worker"
    people = [maria, make_user("marco", organization=acme), make_user("lucia", organization=acme)]
    for person in people:
        services.open_ticket(acting_user=person, subject=f"Printer of {person}", body="Jams.")
    queue.run_batch(50, names=["mail.notify_change"])  # records the mail, not sending it
    return list(OutboundMail.objects.order_by("pk").values_list("pk", flat=True))
