"""Every change to the knowledge base. Each service is atomic, checks permission through
kb.policy, writes an ArticleEvent (articles) and records its side effects as jobs
(search indexing, mail) that run once the change is committed.

Who may do what:
- Agents (and supervisors, admins) write: they create articles and translations, edit
  drafts and articles in review, submit a draft for review, and send it back.
- Publishing needs a second pair of eyes. Supervisors and admins publish any draft or
  article in review; an agent publishes an article in review only when someone else
  wrote its latest version (peer review), never their own words.
- What readers see changes only by a supervisor's or admin's hand: they edit, restore,
  unpublish and archive published articles. The owner (or a supervisor) marks an
  article reviewed, which clears a poor-feedback flag and sets the next review date.
- FAQ entries follow the same line: agents write them unpublished, supervisors and
  admins publish them. Categories and sections are the supervisors' and admins'.
- Readers give feedback on what they may read; anonymous readers only on public pages,
  once per browser session, and everyone within a rate limit.

Saves of an article's title or text take `expected_version`, the version the writer
saw: when someone saved since, the save is refused (Conflict, 409), never applied over it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy as accounts_policy
from soporte.accounts.models import Organization, User
from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied, ServiceError
from soporte.tickets.models import Message, Status, Tag, Ticket

from . import markdown, policy
from .models import (
    TRANSITIONS,
    Article,
    ArticleEvent,
    ArticleEventKind,
    ArticleStatus,
    ArticleVersion,
    Category,
    Deflection,
    FaqEntry,
    Feedback,
    Language,
    LinkKind,
    Outcome,
    Section,
    TicketLink,
    TranslationGroup,
    Visibility,
)
from .policy import Reader

MAX_TITLE = 200
MAX_BODY = 200_000
MAX_COMMENT = 2000
# Feedback: how many answers one reader (user or session) and one address may give in
# an hour; past that, refused until the hour has passed.
FEEDBACK_PER_HOUR = 30
FEEDBACK_PER_IP_PER_HOUR = 60
# Poor feedback: at least this many answers, and at least this share of them "no".
POOR_MIN_VOTES = 3
POOR_SHARE = 0.5
# How long after a review the next one is due, unless the reviewer says otherwise.
REVIEW_EVERY = timedelta(days=180)
# A requester who opens a ticket within this time of opening a suggested article was
# not helped by it.
DEFLECTION_WINDOW = timedelta(hours=1)

_UNSET: Any = object()


class RateLimited(ServiceError):
    status = 429


# -- checks -------------------------------------------------------------------------


def _text(value: str, name: str, max_length: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(_("%(name)s is required.") % {"name": name})
    if len(value) > max_length:
        raise InvalidInput(
            _("%(name)s is longer than %(max)s characters.") % {"name": name, "max": max_length}
        )
    if "\x00" in value:
        raise InvalidInput(_("%(name)s contains a NUL character.") % {"name": name})
    return value


def _body(value: str) -> str:
    value = (value or "").replace("\r\n", "\n")
    if len(value) > MAX_BODY:
        raise InvalidInput(_("The text is longer than %(max)s characters.") % {"max": MAX_BODY})
    if "\x00" in value:
        raise InvalidInput(_("The text contains a NUL character."))
    return value


def _visibility(value: str, organizations: list[Organization] | None) -> Visibility:
    try:
        visibility = Visibility(value)
    except ValueError:
        raise InvalidInput(_("Unknown visibility: %(value)s.") % {"value": value}) from None
    if visibility == Visibility.ORGANIZATIONS and not organizations:
        raise InvalidInput(_("Choose the organizations whose requesters may read it."))
    return visibility


def _language(value: str) -> Language:
    try:
        return Language(value)
    except ValueError:
        raise InvalidInput(_("Unknown language: %(value)s.") % {"value": value}) from None


def _tags(names: Iterable[str]) -> list[Tag]:
    cleaned: list[str] = []
    for name in names:
        name = (name or "").strip().lower()
        if not name:
            continue
        if len(name) > 50:
            raise InvalidInput(
                _("The tag %(tag)s… is longer than 50 characters.") % {"tag": name[:20]}
            )
        if name not in cleaned:
            cleaned.append(name)
    if not cleaned:
        return []
    Tag.objects.bulk_create([Tag(name=name) for name in cleaned], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=cleaned))


def may_edit(user: Reader, article: Article) -> bool:
    """Agents edit drafts and articles in review; what readers see (published and
    archived articles) is changed by supervisors and admins."""
    if not policy.is_agent(user):
        return False
    if article.status in (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW):
        return True
    return policy.is_supervisor(user)


def may_transition(user: Reader, article: Article, status: str) -> bool:
    """Whether this person may move the article to `status` (see the module docstring)."""
    if not policy.is_agent(user) or status not in TRANSITIONS.get(article.status, ()):
        return False
    if policy.is_supervisor(user):
        return True
    if status == ArticleStatus.PUBLISHED:
        return article.status == ArticleStatus.IN_REVIEW and article.last_editor_id != user.pk
    return article.status in (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW)


def _require_edit(user: User, article: Article) -> None:
    policy.require_agent(user)
    if not may_edit(user, article):
        raise PermissionDenied(
            _("Only supervisors and administrators may change a published or archived article.")
        )


def _check_version(article: Article, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != article.version:
        raise Conflict(
            _(
                "“%(title)s” was saved by someone else since you loaded it (version "
                "%(version)s). Reload it and try again."
            )
            % {"title": article.title, "version": article.version}
        )


def _lock(article: Article) -> Article:
    """Lock the article's row for this transaction, so two saves queue up, and reload
    the caller's instance from it (the caller sees the result of the service)."""
    if not Article.objects.select_for_update().filter(pk=article.pk).exists():
        raise NotFound(_("Article %(id)s not found.") % {"id": article.pk})
    article.refresh_from_db()
    return article


def _event(article: Article, actor: User | None, kind: str, old: str = "", new: str = "", **data):
    ArticleEvent.objects.create(
        article=article, actor=actor, kind=kind, old=old[:40], new=new[:40], data=data
    )


def _reindex(article: Article) -> None:
    from .tasks import index_article

    index_article.enqueue(article.pk)


# -- categories and sections ----------------------------------------------------------


@transaction.atomic
def create_category(
    *, acting_user: User, name: str, description: str = "", position: int = 0
) -> Category:
    policy.require_supervisor(acting_user)
    name = _text(name, _("The name"), 120)
    if Category.objects.filter(name__iexact=name).exists():
        raise Conflict(_("A category named %(name)s exists already.") % {"name": name})
    return Category.objects.create(
        name=name, description=_text(description, _("The description"), 2000, required=False),
        position=position,
    )  # fmt: skip


@transaction.atomic
def create_section(
    category: Category, *, acting_user: User, name: str, description: str = "", position: int = 0
) -> Section:
    policy.require_supervisor(acting_user)
    name = _text(name, _("The name"), 120)
    if category.sections.filter(name__iexact=name).exists():
        raise Conflict(_("The category has a section named %(name)s already.") % {"name": name})
    return Section.objects.create(
        category=category, name=name, position=position,
        description=_text(description, _("The description"), 2000, required=False),
    )  # fmt: skip


# -- writing articles -----------------------------------------------------------------


@transaction.atomic
def create_article(
    *,
    acting_user: User,
    title: str,
    body: str = "",
    language: str = Language.EN,
    section: Section | None = None,
    visibility: str = Visibility.AGENTS,
    organizations: Iterable[Organization] = (),
    tags: Iterable[str] = (),
    review_by: date | None = None,
    owner: User | None = None,
    translation_of: Article | None = None,
    note: str = "",
) -> Article:
    """A new draft, as version 1; with `translation_of`, the same article in another
    language (one variant per language)."""
    policy.require_agent(acting_user)
    title = _text(title, _("The title"), MAX_TITLE)
    body = _body(body)
    language = _language(language)
    organization_list = list(organizations)
    visibility = _visibility(visibility, organization_list)
    owner = owner or acting_user
    if not policy.is_agent(owner):
        raise InvalidInput(_("The owner must be an active agent."))
    if translation_of is not None:
        group = translation_of.group
        if Article.objects.filter(group=group, language=language).exists():
            raise Conflict(
                _("The article exists in %(language)s already.") % {"language": language.label}
            )
    else:
        group = TranslationGroup.objects.create()
    article = Article.objects.create(
        group=group,
        language=language,
        section=section,
        title=title,
        body=body,
        body_html=markdown.render(body),
        visibility=visibility,
        owner=owner,
        review_by=review_by,
        last_editor=acting_user,
    )
    if organization_list and visibility == Visibility.ORGANIZATIONS:
        article.organizations.set(organization_list)
    tag_list = _tags(tags)
    if tag_list:
        article.tags.set(tag_list)
    ArticleVersion.objects.create(
        article=article, number=1, title=title, body=body, author=acting_user,
        note=note[:200],
    )  # fmt: skip
    _event(
        article,
        acting_user,
        ArticleEventKind.CREATED,
        new=article.status,
        translation_of=translation_of.pk if translation_of else None,
    )
    _reindex(article)
    return article


@transaction.atomic
def create_translation(
    article: Article,
    *,
    acting_user: User,
    language: str,
    title: str = "",
    body: str = "",
) -> Article:
    """The article in another language, as a draft sharing its section, visibility,
    organizations and tags; the text starts as the original's until translated."""
    policy.require_agent(acting_user)
    return create_article(
        acting_user=acting_user,
        title=title or article.title,
        body=body or article.body,
        language=language,
        section=article.section,
        visibility=article.visibility,
        organizations=list(article.organizations.all()),
        tags=[tag.name for tag in article.tags.all()],
        review_by=article.review_by,
        translation_of=article,
        note=_("Translated from %(language)s") % {"language": article.get_language_display()},
    )


@transaction.atomic
def update_article(
    article: Article,
    *,
    acting_user: User,
    expected_version: int | None = None,
    title: str | None = None,
    body: str | None = None,
    section: Section | None = _UNSET,
    visibility: str | None = None,
    organizations: Iterable[Organization] | None = None,
    tags: Iterable[str] | None = None,
    review_by: date | None = _UNSET,
    owner: User | None = None,
    note: str = "",
) -> Article:
    """Save changes (None or unset: unchanged). A new title or text is a new version,
    with its author; other changes are recorded as an event."""
    _require_edit(acting_user, article)
    article = _lock(article)
    _require_edit(acting_user, article)
    _check_version(article, expected_version)
    fields: list[str] = []
    changed: list[str] = []
    new_title = article.title if title is None else _text(title, _("The title"), MAX_TITLE)
    new_body = article.body if body is None else _body(body)
    content_changed = (new_title, new_body) != (article.title, article.body)
    if content_changed:
        article.title, article.body = new_title, new_body
        article.body_html = markdown.render(new_body)
        article.version += 1
        article.last_editor = acting_user
        fields += ["title", "body", "body_html", "version", "last_editor"]
    if section is not _UNSET and section != article.section:
        if section is None and article.status == ArticleStatus.PUBLISHED:
            raise InvalidInput(_("A published article needs a section."))
        article.section = section
        fields.append("section")
        changed.append("section")
    organization_list = None if organizations is None else list(organizations)
    if visibility is not None or organization_list is not None:
        current = None if organization_list is not None else list(article.organizations.all())
        new_visibility = _visibility(visibility or article.visibility, organization_list or current)
        if new_visibility != article.visibility:
            article.visibility = new_visibility
            fields.append("visibility")
            changed.append("visibility")
        if new_visibility != Visibility.ORGANIZATIONS:
            organization_list = []
        had = {org.pk for org in article.organizations.all()}
        if organization_list is not None and {org.pk for org in organization_list} != had:
            article.organizations.set(organization_list)
            changed.append("organizations")
    if tags is not None:
        tag_list = _tags(tags)
        if {tag.pk for tag in tag_list} != {tag.pk for tag in article.tags.all()}:
            article.tags.set(tag_list)
            changed.append("tags")
    if review_by is not _UNSET and review_by != article.review_by:
        article.review_by = review_by
        fields.append("review_by")
        changed.append("review_by")
    if owner is not None and owner.pk != article.owner_id:
        if not policy.is_agent(owner):
            raise InvalidInput(_("The owner must be an active agent."))
        article.owner = owner
        fields.append("owner")
        changed.append("owner")
    if not fields and not changed:
        return article
    article.save(update_fields=[*fields, "updated_at"])
    if content_changed:
        ArticleVersion.objects.create(
            article=article, number=article.version, title=new_title, body=new_body,
            author=acting_user, note=note[:200],
        )  # fmt: skip
    _event(
        article,
        acting_user,
        ArticleEventKind.EDITED,
        new=f"v{article.version}",
        fields=(["text"] if content_changed else []) + changed,
    )
    _reindex(article)
    return article


@transaction.atomic
def restore_version(
    article: Article, number: int, *, acting_user: User, expected_version: int | None = None
) -> Article:
    """Bring back an earlier version's title and text, as a new version (history is
    never rewritten)."""
    _require_edit(acting_user, article)
    old = article.versions.filter(number=number).first()
    if old is None:
        raise NotFound(_("The article has no version %(number)s.") % {"number": number})
    if (old.title, old.body) == (article.title, article.body):
        raise Conflict(_("Version %(number)s is what the article says now.") % {"number": number})
    article = update_article(
        article,
        acting_user=acting_user,
        expected_version=expected_version,
        title=old.title,
        body=old.body,
        note=_("Restored version %(number)s") % {"number": number},
    )
    _event(
        article, acting_user, ArticleEventKind.RESTORED, new=f"v{article.version}", number=number
    )
    return article


@transaction.atomic
def transition_article(
    article: Article, *, acting_user: User, status: str, expected_version: int | None = None
) -> Article:
    """Move the article along draft -> in review -> published -> archived."""
    policy.require_agent(acting_user)
    try:
        target = ArticleStatus(status)
    except ValueError:
        raise InvalidInput(_("Unknown status: %(status)s.") % {"status": status}) from None
    article = _lock(article)
    _check_version(article, expected_version)
    if target not in TRANSITIONS[article.status]:
        raise Conflict(
            _("An article cannot go from %(old)s to %(new)s.")
            % {"old": article.get_status_display(), "new": target.label}
        )
    if not may_transition(acting_user, article, target):
        if target == ArticleStatus.PUBLISHED and article.status == ArticleStatus.IN_REVIEW:
            raise PermissionDenied(_("Someone else must review and publish what you wrote last."))
        if target == ArticleStatus.PUBLISHED:
            raise PermissionDenied(
                _("Submit the article for review: a supervisor or another agent publishes it.")
            )
        raise PermissionDenied(
            _("Only supervisors and administrators may change a published or archived article.")
        )
    if target == ArticleStatus.PUBLISHED and article.section_id is None:
        raise InvalidInput(_("Choose a section before publishing."))
    old = article.status
    article.status = target
    fields = ["status", "updated_at"]
    if target == ArticleStatus.PUBLISHED:
        article.published_at = timezone.now()
        fields.append("published_at")
    article.save(update_fields=fields)
    _event(article, acting_user, ArticleEventKind.STATUS_CHANGED, old=old, new=target)
    _reindex(article)
    return article


@transaction.atomic
def mark_reviewed(article: Article, *, acting_user: User, review_by: date | None = None) -> Article:
    """The owner (or a supervisor) checked the article: the poor-feedback flag goes and
    the next review is due at `review_by` (by default in six months)."""
    policy.require_agent(acting_user)
    if article.owner_id != acting_user.pk and not acting_user.is_supervisor:
        raise PermissionDenied(_("Only the article's owner or a supervisor may mark it reviewed."))
    today = timezone.localdate()
    review_by = review_by or today + REVIEW_EVERY
    if review_by <= today:
        raise InvalidInput(_("The next review must be after today."))
    Article.objects.filter(pk=article.pk).update(
        flagged_at=None, review_by=review_by, updated_at=timezone.now()
    )
    article.flagged_at, article.review_by = None, review_by
    _event(article, acting_user, ArticleEventKind.REVIEWED, new=review_by.isoformat())
    return article


# -- reading ---------------------------------------------------------------------------


def count_view(article: Article) -> None:
    """One more view (the page decides what counts as one, e.g. once per session)."""
    Article.objects.filter(pk=article.pk).update(views=F("views") + 1)


def count_faq_view(entry: FaqEntry) -> None:
    FaqEntry.objects.filter(pk=entry.pk).update(views=F("views") + 1)


# -- feedback --------------------------------------------------------------------------


def _check_rate(user: Reader, session_key: str, ip: str | None) -> None:
    since = timezone.now() - timedelta(hours=1)
    recent = Feedback.objects.filter(updated_at__gte=since)
    mine = (
        recent.filter(user=user)
        if user.is_authenticated
        else recent.filter(user__isnull=True, session_key=session_key)
    )
    if mine.count() >= FEEDBACK_PER_HOUR or (
        ip and recent.filter(ip=ip).count() >= FEEDBACK_PER_IP_PER_HOUR
    ):
        raise RateLimited(_("That is a lot of feedback at once. Please try again later."))


def _reader(user: Reader, session_key: str) -> dict[str, Any]:
    if user.is_authenticated:
        return {"user": user}
    if not session_key:
        raise PermissionDenied(_("Sign in to give feedback."))
    return {"user": None, "session_key": session_key[:64]}


def _save_feedback(target: dict[str, Any], reader: dict[str, Any], helpful: bool, comment: str,
                   ip: str | None) -> tuple[Feedback, bool | None]:  # fmt: skip
    """Create or change the reader's answer; returns it and the answer it replaced."""
    existing = Feedback.objects.select_for_update().filter(**target, **reader).first()
    if existing is None:
        try:
            with transaction.atomic():
                feedback = Feedback.objects.create(
                    **target, **reader, helpful=helpful, comment=comment, ip=ip
                )
        except IntegrityError:
            raise Conflict(_("Your feedback was saved already.")) from None
        return feedback, None
    previous = existing.helpful
    existing.helpful, existing.comment, existing.ip = helpful, comment or existing.comment, ip
    existing.save(update_fields=["helpful", "comment", "ip", "updated_at"])
    return existing, previous


def _counter_changes(helpful: bool, previous: bool | None) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if previous is not None:
        if previous == helpful:
            return changes
        old = "helpful_yes" if previous else "helpful_no"
        changes[old] = F(old) - 1
    new = "helpful_yes" if helpful else "helpful_no"
    changes[new] = F(new) + 1
    return changes


def is_poor(helpful_yes: int, helpful_no: int) -> bool:
    votes = helpful_yes + helpful_no
    return votes >= POOR_MIN_VOTES and helpful_no >= POOR_SHARE * votes


@transaction.atomic
def give_feedback(
    article: Article,
    *,
    acting_user: Reader,
    helpful: bool,
    comment: str = "",
    session_key: str = "",
    ip: str | None = None,
) -> Feedback:
    """ "Was this helpful?". When the answers turn poor, the article is flagged for
    review (once, until someone marks it reviewed)."""
    if not policy.can_read(acting_user, article) or not article.is_published:
        raise NotFound(_("Article %(id)s not found.") % {"id": article.pk})
    reader = _reader(acting_user, session_key)
    comment = _text(comment, _("The comment"), MAX_COMMENT, required=False)
    _check_rate(acting_user, session_key, ip)
    feedback, previous = _save_feedback({"article": article}, reader, helpful, comment, ip)
    changes = _counter_changes(helpful, previous)
    if changes:
        Article.objects.filter(pk=article.pk).update(**changes)
    counts = Article.objects.values("helpful_yes", "helpful_no", "flagged_at").get(pk=article.pk)
    article.helpful_yes, article.helpful_no = counts["helpful_yes"], counts["helpful_no"]
    if counts["flagged_at"] is None and is_poor(counts["helpful_yes"], counts["helpful_no"]):
        flagged = Article.objects.filter(pk=article.pk, flagged_at__isnull=True).update(
            flagged_at=timezone.now()
        )
        if flagged:
            _event(
                article,
                None,
                ArticleEventKind.FLAGGED,
                yes=counts["helpful_yes"],
                no=counts["helpful_no"],
            )
    return feedback


@transaction.atomic
def give_faq_feedback(
    entry: FaqEntry,
    *,
    acting_user: Reader,
    helpful: bool,
    session_key: str = "",
    ip: str | None = None,
) -> Feedback:
    if not policy.visible_faq(acting_user).filter(pk=entry.pk, published=True).exists():
        raise NotFound(_("FAQ entry %(id)s not found.") % {"id": entry.pk})
    if not acting_user.is_authenticated and entry.visibility != Visibility.PUBLIC:
        raise NotFound(_("FAQ entry %(id)s not found.") % {"id": entry.pk})
    reader = _reader(acting_user, session_key)
    _check_rate(acting_user, session_key, ip)
    feedback, previous = _save_feedback({"faq": entry}, reader, helpful, "", ip)
    changes = _counter_changes(helpful, previous)
    if changes:
        FaqEntry.objects.filter(pk=entry.pk).update(**changes)
    return feedback


# -- the FAQ ---------------------------------------------------------------------------


def _faq_fields(acting_user: User, published: bool | None, **values: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if values.get("question") is not None:
        fields["question"] = _text(values["question"], _("The question"), 300)
    if values.get("answer") is not None:
        answer = _body(values["answer"])
        if not answer.strip():
            raise InvalidInput(_("The answer is required."))
        fields["answer"], fields["answer_html"] = answer, markdown.render(answer)
    if values.get("language") is not None:
        fields["language"] = _language(values["language"])
    if values.get("category") is not None:
        fields["category"] = values["category"]
    if values.get("position") is not None:
        fields["position"] = values["position"]
    if published is not None:
        if published and not acting_user.is_supervisor:
            raise PermissionDenied(_("Only supervisors and administrators may publish."))
        fields["published"] = published
    return fields


@transaction.atomic
def create_faq_entry(
    *,
    acting_user: User,
    category: Category,
    question: str,
    answer: str,
    language: str = Language.EN,
    visibility: str = Visibility.PUBLIC,
    organizations: Iterable[Organization] = (),
    published: bool = False,
    position: int = 0,
) -> FaqEntry:
    policy.require_agent(acting_user)
    organization_list = list(organizations)
    fields = _faq_fields(
        acting_user, published, question=question, answer=answer, language=language,
        category=category, position=position,
    )  # fmt: skip
    if "answer" not in fields:
        raise InvalidInput(_("The answer is required."))
    entry = FaqEntry.objects.create(
        **fields, visibility=_visibility(visibility, organization_list), created_by=acting_user
    )
    if entry.visibility == Visibility.ORGANIZATIONS:
        entry.organizations.set(organization_list)
    return entry


@transaction.atomic
def update_faq_entry(
    entry: FaqEntry,
    *,
    acting_user: User,
    question: str | None = None,
    answer: str | None = None,
    language: str | None = None,
    category: Category | None = None,
    visibility: str | None = None,
    organizations: Iterable[Organization] | None = None,
    published: bool | None = None,
    position: int | None = None,
) -> FaqEntry:
    """Agents edit unpublished entries; a published one, and publishing, is for
    supervisors and admins."""
    policy.require_agent(acting_user)
    if entry.published and not acting_user.is_supervisor:
        raise PermissionDenied(
            _("Only supervisors and administrators may change a published entry.")
        )
    fields = _faq_fields(
        acting_user, published, question=question, answer=answer, language=language,
        category=category, position=position,
    )  # fmt: skip
    organization_list = None if organizations is None else list(organizations)
    if visibility is not None or organization_list is not None:
        current = organization_list
        if current is None:
            current = list(entry.organizations.all())
        fields["visibility"] = _visibility(visibility or entry.visibility, current)
        entry.organizations.set(current if fields["visibility"] == Visibility.ORGANIZATIONS else [])
    for name, value in fields.items():
        setattr(entry, name, value)
    if fields:
        entry.save(update_fields=[*fields, "updated_at"])
    return entry


# -- tickets and articles --------------------------------------------------------------


def _ticket_description(ticket: Ticket) -> str:
    first = (
        Message.objects.filter(ticket=ticket, internal=False)
        .order_by("created_at", "id")
        .values_list("body_text", flat=True)
        .first()
    )
    return first or ""


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())


@transaction.atomic
def create_article_from_ticket(
    ticket: Ticket,
    *,
    acting_user: User,
    section: Section | None = None,
    language: str | None = None,
) -> Article:
    """A draft prefilled from a resolved ticket: its subject, the problem as the
    requester told it, and the resolution; linked both ways ("created from")."""
    accounts_policy.require_work(acting_user, ticket)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(
            _("Ticket #%(number)s is not resolved yet: write the article once it is.")
            % {"number": ticket.number}
        )
    existing = (
        TicketLink.objects.filter(ticket=ticket, kind=LinkKind.CREATED_FROM)
        .select_related("article")
        .first()
    )
    if existing is not None:
        raise Conflict(
            _("Ticket #%(number)s already has an article: “%(title)s”.")
            % {"number": ticket.number, "title": existing.article.title}
        )
    problem = _ticket_description(ticket)
    body = "\n\n".join(
        [
            "## " + _("Problem"),
            _quote(problem) if problem else "",
            "## " + _("Solution"),
            ticket.resolution.strip() or _("(Describe the solution.)"),
        ]
    )
    language = language or (
        acting_user.language if acting_user.language in Language.values else Language.EN
    )
    article = create_article(
        acting_user=acting_user,
        title=ticket.subject[:MAX_TITLE],
        body=body,
        language=language,
        section=section,
        note=_("Written from ticket #%(number)s") % {"number": ticket.number},
    )
    TicketLink.objects.create(
        ticket=ticket, article=article, kind=LinkKind.CREATED_FROM, created_by=acting_user
    )
    return article


@transaction.atomic
def mark_solved_with(ticket: Ticket, article: Article, *, acting_user: User) -> TicketLink:
    """The ticket was solved with this (published) article; the article counts it."""
    accounts_policy.require_work(acting_user, ticket)
    policy.require_agent(acting_user)
    if not article.is_published:
        raise Conflict(_("Only a published article can be marked as the solution."))
    link, _created = TicketLink.objects.get_or_create(
        ticket=ticket,
        article=article,
        kind=LinkKind.SOLVED_WITH,
        defaults={"created_by": acting_user},
    )
    return link


@transaction.atomic
def unmark_solved_with(ticket: Ticket, article: Article, *, acting_user: User) -> int:
    accounts_policy.require_work(acting_user, ticket)
    deleted, _rows = TicketLink.objects.filter(
        ticket=ticket, article=article, kind=LinkKind.SOLVED_WITH
    ).delete()
    return deleted


# -- deflection ------------------------------------------------------------------------
#
# A requester writing a new ticket sees suggested articles. Opening one records a
# Deflection ("viewed"). It counts as a ticket saved when the requester says the article
# solved the problem, or leaves the new-ticket page without sending it (the page tells
# the server with navigator.sendBeacon). Opening a ticket within DEFLECTION_WINDOW
# afterwards turns the requester's recent deflections into "ticket_opened".


def _reader_filter(user: Reader, session_key: str) -> dict[str, Any]:
    if user.is_authenticated:
        return {"user_id": user.pk}
    return {"user__isnull": True, "session_key": session_key}


@transaction.atomic
def open_suggestion(
    article: Article, *, acting_user: Reader, session_key: str = "", query: str = ""
) -> Deflection | None:
    """Record that a requester opened a suggested article; None for agents (their
    clicks are not deflections) and for readers without a user or a session."""
    if policy.is_agent(acting_user) or not policy.can_read(acting_user, article):
        return None
    if not acting_user.is_authenticated and not session_key:
        return None
    reader = _reader_filter(acting_user, session_key)
    since = timezone.now() - DEFLECTION_WINDOW
    recent = Deflection.objects.filter(**reader, article=article, created_at__gte=since).first()
    if recent is not None:
        return recent
    return Deflection.objects.create(
        article=article,
        user=acting_user if acting_user.is_authenticated else None,
        session_key="" if acting_user.is_authenticated else session_key[:64],
        query=(query or "")[:250],
    )


def _get_deflection(deflection_id: int, user: Reader, session_key: str) -> Deflection:
    found = Deflection.objects.filter(pk=deflection_id, **_reader_filter(user, session_key)).first()
    if found is None:
        raise NotFound(_("Nothing to record."))
    return found


@transaction.atomic
def confirm_deflection(
    deflection_id: int, *, acting_user: Reader, session_key: str = ""
) -> Deflection:
    """ "This solved my problem"."""
    deflection = _get_deflection(deflection_id, acting_user, session_key)
    if deflection.outcome != Outcome.SOLVED:
        deflection.outcome = Outcome.SOLVED
        deflection.save(update_fields=["outcome", "updated_at"])
    return deflection


@transaction.atomic
def leave_ticket_form(*, acting_user: Reader, session_key: str = "") -> int:
    """The requester left the new-ticket page without sending it, after opening
    suggestions: those still only viewed count as deflected. Returns how many."""
    since = timezone.now() - DEFLECTION_WINDOW
    return Deflection.objects.filter(
        **_reader_filter(acting_user, session_key), outcome=Outcome.VIEWED, created_at__gte=since
    ).update(outcome=Outcome.LEFT, updated_at=timezone.now())


def ticket_opened(user_id: int) -> int:
    """A requester opened a ticket: the suggestions they opened just before did not
    help after all."""
    since = timezone.now() - DEFLECTION_WINDOW
    return Deflection.objects.filter(
        user_id=user_id,
        created_at__gte=since,
        outcome__in=[Outcome.VIEWED, Outcome.LEFT, Outcome.SOLVED],
    ).update(outcome=Outcome.TICKET_OPENED, updated_at=timezone.now())
