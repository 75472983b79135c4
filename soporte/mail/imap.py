"""The IMAP poller: fetch each new message of a mailbox once, store it through
`inbound.store_raw`, then mark it processed on the server.

Where the poller left off is `Mailbox.uidvalidity` + `Mailbox.last_uid`: UIDs only grow
within one UIDVALIDITY, so a changed UIDVALIDITY means starting over, which is safe
because `store_raw` deduplicates by Message-ID (or content hash).
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import logging
import os
import re
import ssl
from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone

from .inbound import store_raw
from .models import AfterFetch, Mailbox, Security, Source
from .oversize import refuse_oversized

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
# UIDs asked about per FETCH of sizes; bodies are fetched in groups of at most
# FETCH_BYTES so a batch of large messages does not sit in memory at once.
BATCH_SIZE = 50
FETCH_BYTES = 8 * 1024 * 1024
# A message refused as too large gets this keyword beside the usual \Seen (or move),
# so a person looking at the mailbox sees why it was not taken.
REFUSED_KEYWORD = "SoporteTooLarge"
HEADER_BYTES = 256 * 1024  # of a refused message, enough to record it and answer it

_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_UIDVALIDITY = re.compile(rb"\bUIDVALIDITY (\d+)")


class MailboxError(Exception):
    """A problem polling one mailbox, worded for the admin who reads `last_error`."""


def poll_all() -> int:
    """Poll every active mailbox; returns how many new messages were stored. One broken
    mailbox never stops the others, and nothing raises out of the periodic job."""
    total = 0
    for mailbox in Mailbox.objects.filter(active=True).order_by("pk"):
        try:
            total += poll_mailbox(mailbox)
        except Exception as error:  # noqa: BLE001 - recorded for the admin, logged in full
            logger.exception("Polling mailbox %s failed", mailbox.pk)
            try:
                _record(mailbox, f"unexpected error: {_describe(error)}")
            except Exception:  # noqa: BLE001 - the database itself may be what failed
                logger.exception("Could not record the error of mailbox %s", mailbox.pk)
    return total


def poll_mailbox(mailbox: Mailbox, *, password: str | None = None) -> int:
    """Fetch the mailbox's new messages; returns how many were stored new.

    Runs outside any transaction (a Celery task): each message must be committed by
    `store_raw` before the server is told it was processed.

    1. Connect (IMAPS, STARTTLS or plain) and log in; the password comes from the
       environment variable the mailbox names unless given.
    2. Select the folder; a UIDVALIDITY other than the stored one resets `last_uid`.
    3. UID SEARCH for UIDs above `last_uid`, then per batch: sizes first; a message
       over MAIL_MAX_BYTES is refused from its headers alone (recorded and its sender
       told, see oversize.py), the others fetched and stored.
    4. Mark the batch processed on the server (\\Seen, or moved; refused ones also get
       REFUSED_KEYWORD), then advance `last_uid`: a crash in between only means
       fetching again, deduplicated (a refused message is recorded and answered once).
    5. Record the poll time and the error (empty when it went well).
    Connection, login and protocol errors are recorded in `last_error`, not raised.
    """
    mailbox.refresh_from_db(fields=["uidvalidity", "last_uid"])
    phase = "configuration"
    imap: imaplib.IMAP4 | None = None
    try:
        if password is None:
            password = _password_from_env(mailbox)
        if mailbox.after_fetch == AfterFetch.MOVE and not mailbox.move_to.strip():
            raise MailboxError("messages are to be moved but no folder is set to move them to")
        phase = f"connecting to {mailbox.host}:{mailbox.port}"
        imap = _connect(mailbox)
        phase = "logging in"
        imap.login(mailbox.username, password)
        phase = f"opening folder {mailbox.folder!r}"
        validity = _select(imap, mailbox.folder)
        phase = "fetching"
        return _Poll(imap, mailbox, validity).run()
    except (MailboxError, imaplib.IMAP4.error, OSError, UnicodeError) as error:
        logger.warning("Mailbox %s: %s: %s", mailbox.pk, phase, _describe(error))
        _record(mailbox, f"{phase}: {_describe(error)}")
        return 0
    finally:
        if imap is not None:
            _close(imap)


class _Poll:
    """One poll of a selected folder."""

    def __init__(self, imap: imaplib.IMAP4, mailbox: Mailbox, validity: int) -> None:
        self.imap = imap
        self.mailbox = mailbox
        self.validity = validity
        self.stored = 0
        self.capabilities = _capabilities(imap)
        self.move_target_ready = False

    def run(self) -> int:
        mailbox = self.mailbox
        if mailbox.uidvalidity != self.validity:
            if mailbox.uidvalidity is not None:
                logger.info(
                    "Mailbox %s: UIDVALIDITY changed (%s -> %s), starting over",
                    mailbox.pk,
                    mailbox.uidvalidity,
                    self.validity,
                )
            Mailbox.objects.filter(pk=mailbox.pk, uidvalidity=mailbox.uidvalidity).update(
                uidvalidity=self.validity, last_uid=0
            )
            mailbox.uidvalidity, mailbox.last_uid = self.validity, 0
        uids = self._search(mailbox.last_uid)
        for start in range(0, len(uids), BATCH_SIZE):
            self._batch(uids[start : start + BATCH_SIZE])
        _record(mailbox, "")
        return self.stored

    def _search(self, last_uid: int) -> list[int]:
        data = _ok(self.imap.uid("SEARCH", f"UID {last_uid + 1}:*"), "UID SEARCH")
        found = b" ".join(item for item in data if isinstance(item, bytes)).split()
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted({int(uid) for uid in found if uid.isdigit() and int(uid) > last_uid})

    def _batch(self, batch: list[int]) -> None:
        sizes = self._sizes(batch)
        limit = settings.MAIL_MAX_BYTES
        wanted = [uid for uid in batch if uid in sizes and sizes[uid] <= limit]
        bodies: dict[int, bytes] = {}
        done: list[int] = []  # stored (or stored before): to mark on the server
        refused: list[int] = []  # recorded as too large (now or before)
        handled = 0  # every UID up to this one is taken care of
        try:
            for uid in batch:
                if uid not in sizes:
                    pass  # expunged by someone else since the search
                elif sizes[uid] > limit:
                    header_block = self._header_block(uid)
                    if header_block is not None:
                        refuse_oversized(header_block, size=sizes[uid], mailbox=self.mailbox)
                        refused.append(uid)
                else:
                    if uid not in bodies:
                        bodies = self._bodies(_group(wanted, sizes, start=uid))
                    raw = bodies.pop(uid, None)
                    if raw is not None:
                        _, created = store_raw(raw, source=Source.IMAP, mailbox=self.mailbox)
                        self.stored += created
                        done.append(uid)
                handled = uid
        finally:
            # Whatever was stored is marked and remembered, even when a later one failed.
            if refused:
                self._flag_refused(refused)
            if done or refused:
                self._mark(sorted(done + refused))
            if handled:
                self._advance(handled)

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        data = _ok(self.imap.uid("FETCH", _uid_set(uids), "(UID RFC822.SIZE)"), "UID FETCH")
        sizes = {}
        for item in data:
            head = item[0] if isinstance(item, tuple) else item
            if not isinstance(head, bytes):
                continue
            uid, size = _UID.search(head), _SIZE.search(head)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def _bodies(self, uids: list[int]) -> dict[int, bytes]:
        data = _ok(self.imap.uid("FETCH", _uid_set(uids), "(UID BODY.PEEK[])"), "UID FETCH")
        return {uid: literal for uid, head, literal in _literals(data) if b"BODY[]" in head}

    def _header_block(self, uid: int) -> bytes | None:
        """The header block of one message (its first HEADER_BYTES); None when the
        message is gone meanwhile."""
        fields = f"(UID BODY.PEEK[HEADER]<0.{HEADER_BYTES}>)"
        data = _ok(self.imap.uid("FETCH", str(uid), fields), "UID FETCH")
        for found, head, literal in _literals(data):
            if found == uid and b"BODY[HEADER]" in head:
                return literal
        return None

    def _flag_refused(self, uids: list[int]) -> None:
        try:
            typ, data = self.imap.uid(
                "STORE", _uid_set(uids), "+FLAGS.SILENT", f"({REFUSED_KEYWORD})"
            )
        except imaplib.IMAP4.error as error:
            typ, data = "BAD", [str(error).encode()]
        if typ != "OK":  # a server without keywords: \Seen or the move still happen
            logger.info("Mailbox %s: could not flag refused mail: %s", self.mailbox.pk, data)

    def _mark(self, uids: list[int]) -> None:
        imap, uid_set = self.imap, _uid_set(uids)
        if self.mailbox.after_fetch != AfterFetch.MOVE:
            _ok(imap.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Seen)"), "UID STORE")
            return
        target = _quote(self.mailbox.move_to.strip())
        self._ensure_folder(target)
        if "MOVE" in self.capabilities:
            _ok(imap.uid("MOVE", uid_set, target), "UID MOVE")
            return
        _ok(imap.uid("COPY", uid_set, target), "UID COPY")
        _ok(imap.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE")
        if "UIDPLUS" in self.capabilities:
            _ok(imap.uid("EXPUNGE", uid_set), "UID EXPUNGE")
        else:
            _ok(imap.expunge(), "EXPUNGE")

    def _ensure_folder(self, target: str) -> None:
        if self.move_target_ready:
            return
        data = _ok(self.imap.list('""', target), "LIST")
        if not any(item for item in data if item):
            typ, answer = self.imap.create(target)
            if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(_as_bytes(answer)):
                raise MailboxError(f"could not create folder {self.mailbox.move_to!r}: {answer}")
            self.imap.subscribe(target)
        self.move_target_ready = True

    def _advance(self, uid: int) -> None:
        # Conditional: never moves backwards, and not across a UIDVALIDITY change.
        Mailbox.objects.filter(
            pk=self.mailbox.pk, uidvalidity=self.validity, last_uid__lt=uid
        ).update(last_uid=uid)
        self.mailbox.last_uid = max(self.mailbox.last_uid, uid)


def _password_from_env(mailbox: Mailbox) -> str:
    name = mailbox.password_env.strip()
    if not name:
        raise MailboxError("no environment variable is named for the password")
    value = os.environ.get(name)
    if value is None:
        raise MailboxError(f"the environment variable {name} holding the password is not set")
    return value


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    if mailbox.security == Security.IMAPS:
        return imaplib.IMAP4_SSL(
            mailbox.host,
            mailbox.port,
            ssl_context=ssl.create_default_context(),
            timeout=TIMEOUT_SECONDS,
        )
    imap = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS)
    if mailbox.security == Security.STARTTLS:
        try:
            imap.starttls(ssl_context=ssl.create_default_context())
        except BaseException:
            with contextlib.suppress(OSError):
                imap.shutdown()
            raise
    return imap


def _select(imap: imaplib.IMAP4, folder: str) -> int:
    """Select the folder for reading and writing; returns its UIDVALIDITY."""
    quoted = _quote(folder or "INBOX")
    _ok(imap.select(quoted), "SELECT")
    _, data = imap.response("UIDVALIDITY")
    for item in data or []:
        if isinstance(item, bytes) and item.strip().isdigit():
            return int(item)
    data = _ok(imap.status(quoted, "(UIDVALIDITY)"), "STATUS")
    for item in _as_bytes(data):
        match = _UIDVALIDITY.search(item)
        if match:
            return int(match.group(1))
    raise MailboxError("the server did not say the folder's UIDVALIDITY")


def _capabilities(imap: imaplib.IMAP4) -> set[str]:
    # Asked again after login: servers announce more (MOVE, UIDPLUS) once logged in.
    try:
        data = _ok(imap.capability(), "CAPABILITY")
    except (MailboxError, imaplib.IMAP4.error):
        return {str(cap).upper() for cap in imap.capabilities}
    return {word.upper() for item in _as_bytes(data) for word in item.decode().split()}


def _close(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except Exception:  # noqa: BLE001 - the connection may already be gone
        with contextlib.suppress(Exception):
            imap.shutdown()


def _record(mailbox: Mailbox, error: str) -> None:
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now, last_error=error[:2000])
    mailbox.last_polled_at, mailbox.last_error = now, error[:2000]


def _ok(result: tuple[str, list], command: str) -> list:
    typ, data = result
    if typ != "OK":
        detail = b" ".join(_as_bytes(data)).decode("utf-8", "replace")
        raise MailboxError(f"{command} failed: {typ} {detail}".strip())
    return data


def _literals(data: list) -> Iterator[tuple[int, bytes, bytes]]:
    """(uid, response text, literal) for each literal of a FETCH response; the UID may be
    written before or after the literal."""
    for index, item in enumerate(data):
        if not isinstance(item, tuple) or len(item) != 2:
            continue
        head, literal = item
        after = data[index + 1] if index + 1 < len(data) else b""
        text = head + b" " + (after if isinstance(after, bytes) else b"")
        match = _UID.search(text)
        if match and isinstance(literal, bytes):
            yield int(match.group(1)), head, literal


def _group(wanted: list[int], sizes: dict[int, int], *, start: int) -> list[int]:
    """The UIDs from `start` on whose bodies fit in one FETCH (always at least one)."""
    group: list[int] = []
    total = 0
    for uid in wanted[wanted.index(start) :]:
        if group and total + sizes[uid] > FETCH_BYTES:
            break
        group.append(uid)
        total += sizes[uid]
    return group


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _quote(folder: str) -> str:
    """A folder name as an IMAP quoted string, in modified UTF-7 (RFC 3501 5.1.3)."""
    encoded = _modified_utf7(folder)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _modified_utf7(text: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            chunk = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + chunk.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in text:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _as_bytes(data: list) -> list[bytes]:
    return [item for item in data or [] if isinstance(item, bytes)]


def _describe(error: BaseException) -> str:
    detail = error.args[0] if len(error.args) == 1 else error
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    text = str(detail) or type(error).__name__
    if isinstance(error, OSError) and not isinstance(error, ssl.SSLError):
        text = f"{type(error).__name__}: {text}"
    return text
