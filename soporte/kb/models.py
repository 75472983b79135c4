"""The knowledge base: categories > sections > articles (Markdown, in language variants,
with every save kept as a version), the FAQ, readers' feedback, links to tickets, and
the tickets the articles deflected.

Who reads what is decided in policy.py; every change goes through services.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization
from soporte.tickets.models import Tag, Ticket


class Language(models.TextChoices):
    EN = "en", "English"
    ES = "es", "Español"


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Everyone")
    ORGANIZATIONS = "organizations", _("Requesters of the chosen organizations")
    AGENTS = "agents", _("Agents only (internal)")


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


# The moves transition_article allows; services.py says who may make each.
TRANSITIONS: dict[str, frozenset[str]] = {
    ArticleStatus.DRAFT: frozenset({ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED}),
    ArticleStatus.IN_REVIEW: frozenset({ArticleStatus.DRAFT, ArticleStatus.PUBLISHED}),
    ArticleStatus.PUBLISHED: frozenset({ArticleStatus.DRAFT, ArticleStatus.ARCHIVED}),
    ArticleStatus.ARCHIVED: frozenset({ArticleStatus.DRAFT}),
}


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("knowledge base category")
        verbose_name_plural = _("knowledge base categories")

    def __str__(self) -> str:
        return self.name


class Section(models.Model):
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="sections", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="kb_section_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class TranslationGroup(models.Model):
    """One article in all its languages: each variant is an Article of the group."""

    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"group {self.pk}"


class Article(models.Model):
    group = models.ForeignKey(TranslationGroup, on_delete=models.PROTECT, related_name="articles")
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    # A draft may wait unfiled (e.g. one made from a ticket); publishing needs a section.
    section = models.ForeignKey(
        Section,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="articles",
        verbose_name=_("section"),
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text (Markdown)"), blank=True)
    # The body rendered and sanitized once per save, not per page view.
    body_html = models.TextField(blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=12, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    visibility = models.CharField(
        _("visible to"), max_length=16, choices=Visibility.choices, default=Visibility.AGENTS
    )
    organizations = models.ManyToManyField(
        Organization, blank=True, related_name="+", verbose_name=_("organizations")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="kb_articles",
        verbose_name=_("owner"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="kb_articles")
    review_by = models.DateField(_("review by"), null=True, blank=True)
    # The review_by date the owner was last reminded of: one reminder per due date.
    reminded_for = models.DateField(null=True, blank=True, editable=False)
    # Set when readers' feedback turned poor; cleared when someone reviews the article.
    flagged_at = models.DateTimeField(_("flagged for review"), null=True, blank=True)
    views = models.PositiveIntegerField(_("views"), default=0)
    helpful_yes = models.PositiveIntegerField(default=0)
    helpful_no = models.PositiveIntegerField(default=0)
    # The number of the latest ArticleVersion; a save that carries an older one is refused.
    version = models.PositiveIntegerField(default=1)
    # Whoever wrote the latest version: an agent may not publish their own words.
    last_editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "language"], name="kb_article_one_per_language"
            )
        ]
        indexes = [
            models.Index(fields=["status", "visibility"], name="kb_article_status"),
            models.Index(fields=["review_by"], name="kb_article_review_by"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("kb:article", args=[self.pk])

    @property
    def is_published(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED

    @property
    def votes(self) -> int:
        return self.helpful_yes + self.helpful_no


class ArticleVersion(models.Model):
    """The article as one save left it: title and full Markdown, with its author."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class ArticleEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    EDITED = "edited", _("Edited")
    RESTORED = "restored", _("Version restored")
    STATUS_CHANGED = "status_changed", _("Status changed")
    REVIEWED = "reviewed", _("Reviewed")
    FLAGGED = "flagged", _("Flagged by readers' feedback")
    REMINDED = "reminded", _("Review reminder sent")


class ArticleEvent(models.Model):
    """The audit trail of an article (its text is in the versions)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=ArticleEventKind.choices)
    old = models.CharField(max_length=40, blank=True)
    new = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on article {self.article_id}"


class FaqEntry(models.Model):
    """A frequent question and its answer, shown by category on the portal."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="faq", verbose_name=_("category")
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    question = models.CharField(_("question"), max_length=300)
    answer = models.TextField(_("answer (Markdown)"))
    answer_html = models.TextField(blank=True, editable=False)
    visibility = models.CharField(
        _("visible to"), max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    organizations = models.ManyToManyField(
        Organization, blank=True, related_name="+", verbose_name=_("organizations")
    )
    published = models.BooleanField(_("published"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    views = models.PositiveIntegerField(_("views"), default=0)
    helpful_yes = models.PositiveIntegerField(default=0)
    helpful_no = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")

    def __str__(self) -> str:
        return self.question


class Feedback(models.Model):
    """ "Was this helpful?": one answer per reader (a user, or an anonymous session on a
    public page) per article or FAQ entry; answering again changes it."""

    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, null=True, blank=True, related_name="feedback"
    )
    faq = models.ForeignKey(
        FaqEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="feedback"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    helpful = models.BooleanField()
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(article__isnull=False, faq__isnull=True)
                | Q(article__isnull=True, faq__isnull=False),
                name="kb_feedback_one_target",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(session_key=""),
                name="kb_feedback_has_reader",
            ),
            models.UniqueConstraint(
                fields=["article", "user"],
                condition=Q(article__isnull=False, user__isnull=False),
                name="kb_feedback_article_user",
            ),
            models.UniqueConstraint(
                fields=["article", "session_key"],
                condition=Q(article__isnull=False, user__isnull=True),
                name="kb_feedback_article_session",
            ),
            models.UniqueConstraint(
                fields=["faq", "user"],
                condition=Q(faq__isnull=False, user__isnull=False),
                name="kb_feedback_faq_user",
            ),
            models.UniqueConstraint(
                fields=["faq", "session_key"],
                condition=Q(faq__isnull=False, user__isnull=True),
                name="kb_feedback_faq_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{'+' if self.helpful else '-'} on {self.article_id or self.faq_id}"


class LinkKind(models.TextChoices):
    CREATED_FROM = "created_from", _("Created from the ticket")
    SOLVED_WITH = "solved_with", _("Solved with the article")


class TicketLink(models.Model):
    """A ticket and an article: the article was written from the ticket, or the ticket
    was solved with the article."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="kb_links")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="ticket_links")
    kind = models.CharField(max_length=16, choices=LinkKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "article", "kind"], name="kb_ticketlink_unique"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.kind} {self.article_id}"


class Outcome(models.TextChoices):
    VIEWED = "viewed", _("Opened a suggested article")
    SOLVED = "solved", _("Said the article solved the problem")
    LEFT = "left", _("Left without opening a ticket")
    TICKET_OPENED = "ticket_opened", _("Opened a ticket anyway")


# The outcomes that count as a ticket the knowledge base saved.
DEFLECTED = (Outcome.SOLVED, Outcome.LEFT)


class Deflection(models.Model):
    """A suggested article a requester opened while writing a new ticket, and what came
    of it (see services.open_suggestion)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="deflections")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)
    query = models.CharField(max_length=250, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.VIEWED)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.outcome} article {self.article_id}"

    @property
    def deflected(self) -> bool:
        return self.outcome in DEFLECTED
