"""Writing articles: who may write, edit and publish, the draft -> in review ->
published -> archived workflow, versions with diff and restore, and translations."""

from __future__ import annotations

import pytest

from soporte.kb import services
from soporte.kb.models import ArticleEvent, ArticleStatus, ArticleVersion, Visibility
from soporte.lib.errors import Conflict, InvalidInput, PermissionDenied

pytestmark = pytest.mark.django_db

DRAFT, REVIEW, PUBLISHED, ARCHIVED = (
    ArticleStatus.DRAFT,
    ArticleStatus.IN_REVIEW,
    ArticleStatus.PUBLISHED,
    ArticleStatus.ARCHIVED,
)


@pytest.fixture
def draft(alice, printers):
    return services.create_article(
        acting_user=alice, title="Printer jam", body="Open the tray.", section=printers,
        visibility=Visibility.PUBLIC,
    )  # fmt: skip


def test_an_agent_writes_a_draft_as_version_one(draft, alice):
    assert draft.status == DRAFT
    assert draft.owner == alice and draft.last_editor == alice
    [version] = draft.versions.all()
    assert (version.number, version.title, version.body, version.author) == (
        1, "Printer jam", "Open the tray.", alice,
    )  # fmt: skip
    assert draft.body_html == "<p>Open the tray.</p>\n"


def test_requesters_cannot_write_articles(maria):
    with pytest.raises(PermissionDenied):
        services.create_article(acting_user=maria, title="Mine")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": " "}, "title is required"),
        ({"title": "x" * 201}, "longer than 200"),
        ({"title": "Ok", "visibility": "organizations"}, "Choose the organizations"),
        ({"title": "Ok", "visibility": "everyone"}, "Unknown visibility"),
        ({"title": "Ok", "language": "fr"}, "Unknown language"),
    ],
)
def test_what_an_article_needs(alice, fields, message):
    with pytest.raises(InvalidInput, match=message):
        services.create_article(acting_user=alice, **fields)


# -- the workflow ---------------------------------------------------------------------


def test_an_agent_may_not_publish_a_draft_directly(draft, alice):
    with pytest.raises(PermissionDenied, match="Submit the article for review"):
        services.transition_article(draft, acting_user=alice, status=PUBLISHED)


def test_nobody_reviews_their_own_words(draft, alice):
    services.transition_article(draft, acting_user=alice, status=REVIEW)
    with pytest.raises(PermissionDenied, match="Someone else"):
        services.transition_article(draft, acting_user=alice, status=PUBLISHED)


def test_another_agent_publishes_an_article_in_review(draft, alice, bob):
    services.transition_article(draft, acting_user=alice, status=REVIEW)
    services.transition_article(draft, acting_user=bob, status=PUBLISHED)
    draft.refresh_from_db()
    assert draft.status == PUBLISHED and draft.published_at is not None


def test_a_reviewer_who_edits_it_last_needs_a_third_person(draft, alice, bob, sara):
    services.transition_article(draft, acting_user=alice, status=REVIEW)
    services.update_article(draft, acting_user=bob, body="Open the tray, then close it.")
    with pytest.raises(PermissionDenied):
        services.transition_article(draft, acting_user=bob, status=PUBLISHED)
    services.transition_article(draft, acting_user=sara, status=PUBLISHED)


@pytest.mark.parametrize("person", ["carol", "ada"])
def test_supervisors_and_admins_publish_a_draft_directly(request, draft, person):
    services.transition_article(draft, acting_user=request.getfixturevalue(person),
                                status=PUBLISHED)  # fmt: skip
    assert draft.status == PUBLISHED


def test_publishing_needs_a_section(alice, carol):
    article = services.create_article(acting_user=alice, title="Unfiled")
    with pytest.raises(InvalidInput, match="section"):
        services.transition_article(article, acting_user=carol, status=PUBLISHED)


def test_a_move_the_workflow_does_not_have_is_a_conflict(draft, carol):
    with pytest.raises(Conflict, match="cannot go from Draft to Archived"):
        services.transition_article(draft, acting_user=carol, status=ARCHIVED)


def test_only_supervisors_change_what_readers_see(draft, alice, carol):
    services.transition_article(draft, acting_user=carol, status=PUBLISHED)
    with pytest.raises(PermissionDenied):
        services.update_article(draft, acting_user=alice, body="Quick fix")
    with pytest.raises(PermissionDenied):
        services.transition_article(draft, acting_user=alice, status=ARCHIVED)
    services.update_article(draft, acting_user=carol, body="Quick fix")
    services.transition_article(draft, acting_user=carol, status=ARCHIVED)
    services.transition_article(draft, acting_user=carol, status=DRAFT)
    draft.refresh_from_db()
    assert (draft.status, draft.body) == (DRAFT, "Quick fix")


def test_every_move_is_in_the_history(draft, alice, bob):
    services.transition_article(draft, acting_user=alice, status=REVIEW)
    services.transition_article(draft, acting_user=bob, status=PUBLISHED)
    moves = list(
        ArticleEvent.objects.filter(article=draft, kind="status_changed").values_list(
            "old", "new", "actor__username"
        )
    )
    assert moves == [("draft", "in_review", "alice"), ("in_review", "published", "bob")]


# -- versions ---------------------------------------------------------------------------


def test_every_save_of_the_text_is_a_version_with_its_author(draft, alice, bob):
    services.update_article(draft, acting_user=bob, body="Open tray 2.", note="Which tray")
    services.update_article(draft, acting_user=alice, title="Paper jam")
    versions = list(
        draft.versions.order_by("number").values_list(
            "number", "title", "body", "author__username", "note"
        )
    )
    assert versions == [
        (1, "Printer jam", "Open the tray.", "alice", ""),
        (2, "Printer jam", "Open tray 2.", "bob", "Which tray"),
        (3, "Paper jam", "Open tray 2.", "alice", ""),
    ]
    assert draft.version == 3 and draft.last_editor == alice


def test_a_save_that_changes_nothing_is_no_version(draft, alice):
    services.update_article(draft, acting_user=alice, title="Printer jam", body="Open the tray.")
    assert draft.versions.count() == 1


def test_a_stale_save_is_refused_not_applied(draft, alice, bob):
    services.update_article(draft, acting_user=bob, body="Bob's text", expected_version=1)
    with pytest.raises(Conflict, match="saved by someone else"):
        services.update_article(draft, acting_user=alice, body="Alice's text", expected_version=1)
    draft.refresh_from_db()
    assert draft.body == "Bob's text"


def test_restoring_a_version_is_a_new_version(draft, alice, bob):
    services.update_article(draft, acting_user=bob, title="Wrong", body="Wrong advice.")
    services.restore_version(draft, 1, acting_user=alice, expected_version=2)
    draft.refresh_from_db()
    assert (draft.title, draft.body, draft.version) == ("Printer jam", "Open the tray.", 3)
    latest = draft.versions.get(number=3)
    assert latest.author == alice and latest.note == "Restored version 1"
    assert draft.body_html == "<p>Open the tray.</p>\n"
    assert ArticleVersion.objects.filter(article=draft).count() == 3  # history kept


def test_restoring_the_current_text_is_refused(draft, alice):
    with pytest.raises(Conflict):
        services.restore_version(draft, 1, acting_user=alice)


def test_a_published_article_is_restored_by_supervisors_only(draft, alice, carol):
    services.update_article(draft, acting_user=alice, body="Second")
    services.transition_article(draft, acting_user=carol, status=PUBLISHED)
    with pytest.raises(PermissionDenied):
        services.restore_version(draft, 1, acting_user=alice)
    services.restore_version(draft, 1, acting_user=carol)


# -- translations -----------------------------------------------------------------------


def test_a_translation_joins_the_article_as_a_draft(draft, bob, acme):
    services.update_article(draft, acting_user=bob, visibility="organizations",
                            organizations=[acme], tags=["paper"])  # fmt: skip
    spanish = services.create_translation(draft, acting_user=bob, language="es",
                                          title="Atasco de papel")  # fmt: skip
    assert spanish.group_id == draft.group_id
    assert (spanish.language, spanish.status, spanish.title) == ("es", DRAFT, "Atasco de papel")
    assert spanish.body == draft.body  # to translate
    assert list(spanish.organizations.all()) == [acme]
    assert [tag.name for tag in spanish.tags.all()] == ["paper"]


def test_one_variant_per_language(draft, bob):
    services.create_translation(draft, acting_user=bob, language="es")
    with pytest.raises(Conflict):
        services.create_translation(draft, acting_user=bob, language="es")
    with pytest.raises(Conflict):
        services.create_translation(draft, acting_user=bob, language="en")


# -- review -----------------------------------------------------------------------------


def test_the_owner_marks_it_reviewed_and_sets_the_next_date(draft, alice, bob):
    from datetime import timedelta

    from django.utils import timezone

    with pytest.raises(PermissionDenied):
        services.mark_reviewed(draft, acting_user=bob)
    services.mark_reviewed(draft, acting_user=alice)
    draft.refresh_from_db()
    assert draft.review_by == timezone.localdate() + timedelta(days=180)
    with pytest.raises(InvalidInput):
        services.mark_reviewed(draft, acting_user=alice, review_by=timezone.localdate())
