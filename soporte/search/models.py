"""The searchable documents: one row per thing a person can find by its words.

The full-text index itself is kept beside this table by the database's backend
(fts5.py: an FTS5 table of stems; postgres.py: a weighted tsvector column with a GIN
index), so the table holds what a search shows (title and body for snippets) and what
it filters on (the ticket, and whether the text is internal).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization
from soporte.tickets.models import Ticket


class Kind(models.TextChoices):
    TICKET = "ticket", _("Ticket")
    MESSAGE = "message", _("Message")
    ARTICLE = "article", _("Article")
    ASSET = "asset", _("Asset")
    PROBLEM = "problem", _("Problem")


class Document(models.Model):
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    # The ticket a ticket or message document belongs to; search results are tickets,
    # filtered through policy.visible_tickets. No database constraint: bulk indexing
    # need not check it, and a ticket's deletion still cascades here through the ORM.
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    # The ticket's organization, copied when the documents are written (and corrected
    # when the ticket moves): an organization's searches filter on this indexed column
    # beside the full-text match instead of joining tickets. Search results are still
    # checked against policy.visible_tickets, so a copy not yet corrected hides nothing
    # it should not show.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,  # Meta.indexes: created after the migration's backfill
        related_name="+",
    )
    # The ticket's requester, copied and corrected the same way: a requester's search
    # filters on this indexed column (their own tickets) beside the full-text match,
    # rather than listing their tickets first; watched tickets are still listed.
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,  # Meta.indexes: created after the migration's backfill
        related_name="+",
    )
    # Internal notes and calls: found by agents only.
    internal = models.BooleanField(default=False)
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="search_document_unique")
        ]
        indexes = [
            models.Index(fields=["organization"], name="search_document_org"),
            models.Index(fields=["requester"], name="search_document_requester"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"
