"""Bring a django-helpdesk site's history in: queues become teams, its users our users,
tickets and follow-ups our tickets and messages (with their files), knowledge-base
items our articles.

Run again, it adds only what is new: every record imported is remembered
(ImportedRecord), so a second run skips it. Each ticket goes in with its follow-ups and
files in one transaction. Nothing is announced: no mail, no rules, no SLA clocks (the
tickets are history); each gets a "created" event saying where it came from, and the
tag django-helpdesk. Times are kept as they were.
"""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from soporte.accounts import services as accounts
from soporte.accounts.models import Role, Team, Tier, User, users_with_email
from soporte.tickets.models import (
    Attachment,
    Channel,
    Message,
    MessageKind,
    Priority,
    Status,
    Tag,
    Ticket,
)
from soporte.tickets.numbering import next_ticket_number

from . import history
from .models import ImportedRecord
from .sources import Source, SourceError

SOURCE = "django-helpdesk"
TAG = "django-helpdesk"
# django-helpdesk's Ticket.status and priority numbers.
STATUS = {1: Status.OPEN, 2: Status.OPEN, 3: Status.RESOLVED, 4: Status.CLOSED, 5: Status.CLOSED}
DUPLICATE = 5
PRIORITY = {1: Priority.P1, 2: Priority.P2, 3: Priority.P3, 4: Priority.P4, 5: Priority.P4}
REQUIRED_TABLES = {"helpdesk_queue", "helpdesk_ticket", "helpdesk_followup", "auth_user"}
MAX_FILE = 100 * 1024 * 1024

Progress = Callable[[int, int], None]


@dataclass
class Summary:
    created: Counter = field(default_factory=Counter)
    matched: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    missing_files: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        kinds = sorted(set(self.created) | set(self.matched) | set(self.skipped))
        out = [
            f"{kind}: {self.created[kind]} new, {self.matched[kind]} matched to existing, "
            f"{self.skipped[kind]} already imported"
            for kind in kinds
        ]
        if self.missing_files:
            out.append(f"files missing from the media folder: {len(self.missing_files)}")
        return out


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        moment = value
    else:
        moment = parse_datetime(str(value))
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)  # Django keeps UTC in SQLite
    return moment


class HelpdeskImport:
    def __init__(self, source: Source, media_root: Path | None, name: str = SOURCE):
        self.db = source
        self.media_root = media_root
        self.name = name
        self.summary = Summary()
        self.users: dict[int, User] = {}
        self.teams: dict[int, Team] = {}
        self.requesters: dict[str, User] = {}
        self.tag, _ = Tag.objects.get_or_create(name=TAG)

    # -- the mapping of what was imported ---------------------------------------------
    def _known(self, kind: str) -> dict[str, int]:
        records = ImportedRecord.objects.filter(source=self.name, kind=kind)
        return dict(records.values_list("source_id", "target_id"))

    def _remember(self, kind: str, source_id: Any, target_id: int) -> None:
        ImportedRecord.objects.create(
            source=self.name, kind=kind, source_id=str(source_id), target_id=target_id
        )

    # -- people and queues ------------------------------------------------------------
    def import_users(self) -> None:
        known = self._known("user")
        for row in self.db.rows("SELECT * FROM auth_user ORDER BY id"):
            if str(row["id"]) in known:
                self.users[row["id"]] = User.objects.get(pk=known[str(row["id"])])
                self.summary.skipped["users"] += 1
                continue
            existing = User.objects.filter(username=row["username"]).first()
            if existing is None and row["email"]:
                existing = users_with_email(row["email"]).first()
            with transaction.atomic():
                if existing is not None:
                    user = existing
                    self.summary.matched["users"] += 1
                else:
                    user = self._new_user(row)
                    self.summary.created["users"] += 1
                self._remember("user", row["id"], user.pk)
            self.users[row["id"]] = user

    def _new_user(self, row: dict) -> User:
        role = (
            Role.ADMIN if row["is_superuser"] else Role.AGENT if row["is_staff"] else Role.REQUESTER
        )
        email = row["email"] or ""
        organization = history.organization_for(email) if role == Role.REQUESTER else None
        user = accounts.create_user(
            acting_user=None,
            username=row["username"],
            email=email,
            role=role,
            tier=Tier.L1 if role != Role.REQUESTER else "",
            first_name=row.get("first_name") or "",
            last_name=row.get("last_name") or "",
            organization=organization,
        )
        # Django's password hashes carry their algorithm: people keep their password.
        fields = {"password": row["password"] or "!", "is_active": bool(row["is_active"])}
        joined = _when(row.get("date_joined"))
        if joined:
            fields["date_joined"] = joined
        User.objects.filter(pk=user.pk).update(**fields)
        user.refresh_from_db()
        return user

    def _requester(self, email: str) -> User:
        """The account of an address that wrote in without one."""
        key = email.strip().lower()
        if key in self.requesters:
            return self.requesters[key]
        user = users_with_email(key).first()
        if user is None:
            base = key[:150]
            username = (
                base
                if not User.objects.filter(username=base).exists()
                else f"{base[:140]}-{secrets.token_hex(3)}"
            )
            user = accounts.create_user(
                acting_user=None,
                username=username,
                email=key,
                organization=history.organization_for(key),
            )
            self.summary.created["requesters (from addresses)"] += 1
        self.requesters[key] = user
        return user

    def import_queues(self) -> None:
        known = self._known("queue")
        for row in self.db.rows("SELECT id, title, email_address FROM helpdesk_queue ORDER BY id"):
            if str(row["id"]) in known:
                self.teams[row["id"]] = Team.objects.get(pk=known[str(row["id"])])
                self.summary.skipped["queues"] += 1
                continue
            with transaction.atomic():
                team = Team.objects.filter(name=row["title"][:120]).first()
                if team is None:
                    team = Team.objects.create(
                        name=row["title"][:120], email=row["email_address"] or ""
                    )
                    self.summary.created["queues"] += 1
                else:
                    self.summary.matched["queues"] += 1
                self._remember("queue", row["id"], team.pk)
            self.teams[row["id"]] = team

    # -- tickets ----------------------------------------------------------------------
    def import_tickets(self, progress: Progress | None = None) -> None:
        known = self._known("ticket")
        total = next(self.db.rows("SELECT COUNT(*) AS n FROM helpdesk_ticket"))["n"]
        for done, row in enumerate(self.db.rows("SELECT * FROM helpdesk_ticket ORDER BY id"), 1):
            if str(row["id"]) in known:
                self.summary.skipped["tickets"] += 1
            else:
                with transaction.atomic():
                    ticket = self._ticket(row)
                    self._followups(row, ticket)
                    self._remember("ticket", row["id"], ticket.pk)
                self.summary.created["tickets"] += 1
            if progress:
                progress(done, total)

    def _ticket(self, row: dict) -> Ticket:
        requester = self.users.get(row.get("submitter_id") or -1) if "submitter_id" in row else None
        if requester is None:
            requester = self._requester(row["submitter_email"] or f"unknown-{row['id']}@invalid")
        assignee = self.users.get(row["assigned_to_id"]) if row["assigned_to_id"] else None
        if assignee is not None and not assignee.is_agent:
            assignee = None
        team = self.teams.get(row["queue_id"])
        if assignee is not None and team is not None:
            team.members.add(assignee)
        created = _when(row["created"]) or timezone.now()
        modified = _when(row["modified"]) or created
        status = STATUS.get(row["status"], Status.OPEN)
        if status == Status.OPEN and row.get("on_hold"):
            status = Status.PENDING_THIRD_PARTY
        ticket = Ticket(
            number=next_ticket_number(),
            subject=(row["title"] or "(no subject)")[:250],
            status=status,
            priority=PRIORITY.get(row["priority"], Priority.P3),
            channel=Channel.EMAIL,
            requester=requester,
            organization=requester.organization,
            assignee=assignee,
            team=team,
            resolution=row["resolution"] or "",
            due_at=_when(row.get("due_date")),
            created_at=created,
            updated_at=modified,
            resolved_at=modified if status in (Status.RESOLVED, Status.CLOSED) else None,
            closed_at=modified if status == Status.CLOSED else None,
        )
        history.open_imported(
            ticket,
            body=row["description"] or "",
            created=created,
            data={
                "imported_from": SOURCE, "source_id": row["id"],
                "summary": f"imported from {SOURCE} #{row['id']}",
            },
        )  # fmt: skip
        ticket.tags.add(self.tag)
        if row["status"] == DUPLICATE:
            ticket.tags.add(Tag.objects.get_or_create(name="duplicate")[0])
        return ticket

    def _followups(self, row: dict, ticket: Ticket) -> None:
        followups = self.db.rows(
            "SELECT * FROM helpdesk_followup WHERE ticket_id = ? ORDER BY date, id", (row["id"],)
        )
        first_agent_reply = None
        for followup in followups:
            author = self.users.get(followup["user_id"]) if followup["user_id"] else None
            public = bool(followup["public"])
            if author is None:
                author = ticket.requester if public else accounts.system_user()
            text = followup["comment"] or followup["title"] or ""
            when = _when(followup["date"]) or ticket.created_at
            message = Message(
                ticket=ticket,
                kind=MessageKind.REPLY if public else MessageKind.NOTE,
                internal=not public,
                author=author,
                channel=Channel.EMAIL,
                body_text=text,
                created_at=when,
            )
            history.insert_one(Message, message)
            self.summary.created["follow-ups"] += 1
            if public and author.is_agent and first_agent_reply is None:
                first_agent_reply = when
            self._attachments(followup, ticket, message)
        if first_agent_reply is not None:
            Ticket.objects.filter(pk=ticket.pk).update(first_responded_at=first_agent_reply)

    def _attachments(self, followup: dict, ticket: Ticket, message: Message) -> None:
        if "helpdesk_followupattachment" not in self.tables:
            return
        for row in self.db.rows(
            "SELECT * FROM helpdesk_followupattachment WHERE followup_id = ? ORDER BY id",
            (followup["id"],),
        ):
            stored = self.media_root / row["file"] if self.media_root and row["file"] else None
            if stored is None or not stored.is_file() or stored.stat().st_size > MAX_FILE:
                self.summary.missing_files.append(row["file"] or f"attachment {row['id']}")
                continue
            content = stored.read_bytes()
            token = secrets.token_hex(16)
            name = default_storage.save(f"attachments/{ticket.pk}/{token}", ContentFile(content))
            filename = (row["filename"] or Path(row["file"]).name)[:200]
            Attachment.objects.create(
                ticket=ticket,
                message=message,
                token=token,
                file=name,
                filename=filename,
                content_type=(
                    row.get("mime_type")
                    or mimetypes.guess_type(filename)[0]
                    or "application/octet-stream"
                )[:100],
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                internal=message.internal,
                uploaded_by=message.author,
            )
            self.summary.created["files"] += 1

    # -- knowledge base ---------------------------------------------------------------
    def import_kb(self) -> None:
        if not {"helpdesk_kbcategory", "helpdesk_kbitem"} <= self.tables:
            return
        from soporte.kb import services as kb
        from soporte.kb.models import Article, ArticleStatus, Visibility
        from soporte.kb.models import Category as KbCategory

        author = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("id").first()
        if author is None:
            return
        known_categories = self._known("kbcategory")
        sections = {}
        for row in self.db.rows("SELECT * FROM helpdesk_kbcategory ORDER BY id"):
            if str(row["id"]) in known_categories:
                category = KbCategory.objects.get(pk=known_categories[str(row["id"])])
                self.summary.skipped["kb categories"] += 1
            else:
                with transaction.atomic():
                    name = (row["title"] or row["name"])[:120]
                    category = KbCategory.objects.filter(name__iexact=name).first()
                    if category is None:
                        category = kb.create_category(
                            acting_user=author, name=name, description=row["description"] or ""
                        )
                        self.summary.created["kb categories"] += 1
                    else:
                        self.summary.matched["kb categories"] += 1
                    self._remember("kbcategory", row["id"], category.pk)
            section = category.sections.order_by("id").first() or kb.create_section(
                acting_user=author, category=category, name=category.name
            )
            sections[row["id"]] = (section, bool(row.get("public", True)))
        known_items = self._known("kbitem")
        for row in self.db.rows("SELECT * FROM helpdesk_kbitem ORDER BY id"):
            if str(row["id"]) in known_items:
                self.summary.skipped["kb items"] += 1
                continue
            section, public = sections.get(row["category_id"], (None, False))
            with transaction.atomic():
                article = kb.create_article(
                    acting_user=author,
                    title=row["title"][:200],
                    body=f"{row['question']}\n\n{row['answer']}".strip(),
                    section=section,
                    visibility=Visibility.PUBLIC if public else Visibility.AGENTS,
                    note=f"imported from {SOURCE}",
                )
                if row["enabled"]:
                    kb.transition_article(
                        article, acting_user=author, status=ArticleStatus.PUBLISHED
                    )
                self._remember("kbitem", row["id"], Article.objects.get(pk=article.pk).pk)
            self.summary.created["kb items"] += 1

    # -- the whole run ----------------------------------------------------------------
    def run(self, progress: Progress | None = None) -> Summary:
        self.tables = self.db.tables()
        missing = REQUIRED_TABLES - self.tables
        if missing:
            raise SourceError(
                f"not a django-helpdesk database: no {', '.join(sorted(missing))} table"
            )
        self.import_users()
        self.import_queues()
        self.import_tickets(progress)
        self.import_kb()
        _index_imported(self.name)
        return self.summary


def _index_imported(name: str) -> None:
    """Make the imported tickets findable (search)."""
    from soporte.search.services import index_ticket

    ids = ImportedRecord.objects.filter(source=name, kind="ticket").values_list(
        "target_id", flat=True
    )
    for ticket_id in ids.iterator():
        index_ticket(ticket_id)
