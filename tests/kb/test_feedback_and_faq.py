"""Readers' feedback ("was this helpful?"), flagging poor articles, and the FAQ."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from soporte.kb import queries, services
from soporte.kb.models import ArticleEvent, Feedback, Visibility
from soporte.lib.errors import NotFound, PermissionDenied

pytestmark = pytest.mark.django_db


# -- feedback on articles -------------------------------------------------------------


def test_a_reader_answers_once_and_may_change_the_answer(write, maria):
    article = write("Printer jam")
    services.give_feedback(article, acting_user=maria, helpful=True)
    services.give_feedback(article, acting_user=maria, helpful=False, comment="Tray 3?")
    article.refresh_from_db()
    assert (article.helpful_yes, article.helpful_no) == (0, 1)
    [feedback] = Feedback.objects.filter(article=article)
    assert (feedback.helpful, feedback.comment) == (False, "Tray 3?")


def test_anonymous_readers_answer_once_per_session_on_public_articles(write):
    article = write("Printer jam")
    services.give_feedback(article, acting_user=AnonymousUser(), helpful=True, session_key="s1")
    services.give_feedback(article, acting_user=AnonymousUser(), helpful=True, session_key="s1")
    services.give_feedback(article, acting_user=AnonymousUser(), helpful=True, session_key="s2")
    article.refresh_from_db()
    assert article.helpful_yes == 2


def test_anonymous_readers_without_a_session_are_refused(write):
    article = write("Printer jam")
    with pytest.raises(PermissionDenied):
        services.give_feedback(article, acting_user=AnonymousUser(), helpful=True)


def test_nobody_gives_feedback_on_what_they_may_not_read(write, acme, pedro):
    article = write("Acme only", visibility=Visibility.ORGANIZATIONS, organizations=[acme])
    with pytest.raises(NotFound):
        services.give_feedback(article, acting_user=pedro, helpful=False)
    with pytest.raises(NotFound):
        services.give_feedback(
            article, acting_user=AnonymousUser(), helpful=False, session_key="s1"
        )


def test_feedback_is_rate_limited(write, maria, monkeypatch):
    monkeypatch.setattr(services, "FEEDBACK_PER_HOUR", 3)
    for n in range(3):
        services.give_feedback(write(f"Guide {n}"), acting_user=maria, helpful=True)
    with pytest.raises(services.RateLimited):
        services.give_feedback(write("One more"), acting_user=maria, helpful=True)


def test_anonymous_feedback_is_rate_limited_by_address_too(write, monkeypatch):
    monkeypatch.setattr(services, "FEEDBACK_PER_IP_PER_HOUR", 2)
    article = write("Printer jam")
    for session in ("a", "b"):
        services.give_feedback(article, acting_user=AnonymousUser(), helpful=True,
                               session_key=session, ip="192.0.2.7")  # fmt: skip
    with pytest.raises(services.RateLimited):
        services.give_feedback(article, acting_user=AnonymousUser(), helpful=True,
                               session_key="c", ip="192.0.2.7")  # fmt: skip


def test_poor_feedback_flags_the_article_for_review_once(write, maria, marco, pedro, alice):
    article = write("Printer jam")
    services.give_feedback(article, acting_user=maria, helpful=True)
    services.give_feedback(article, acting_user=marco, helpful=False, comment="Wrong tray")
    article.refresh_from_db()
    assert article.flagged_at is None  # two answers are too few to judge
    services.give_feedback(article, acting_user=pedro, helpful=False)
    article.refresh_from_db()
    assert article.flagged_at is not None
    services.give_feedback(article, acting_user=alice, helpful=False)
    assert ArticleEvent.objects.filter(article=article, kind="flagged").count() == 1


def test_good_feedback_does_not_flag(write, maria, marco, pedro):
    article = write("Printer jam")
    for person in (maria, marco, pedro):
        services.give_feedback(article, acting_user=person, helpful=True)
    article.refresh_from_db()
    assert article.flagged_at is None


def test_marking_it_reviewed_clears_the_flag(write, maria, marco, pedro, alice):
    article = write("Printer jam")
    for person in (maria, marco, pedro):
        services.give_feedback(article, acting_user=person, helpful=False)
    services.mark_reviewed(article, acting_user=alice)
    article.refresh_from_db()
    assert article.flagged_at is None


def test_the_desk_list_filters_poor_feedback(write, maria, marco, pedro, alice):
    poor = write("Printer jam")
    write("Fine guide")
    for person in (maria, marco, pedro):
        services.give_feedback(poor, acting_user=person, helpful=False)
    client = Client()
    client.force_login(alice)
    page = client.get("/desk/kb/", {"review": "poor"}).content.decode()
    assert "Printer jam" in page and "Fine guide" not in page


def test_the_feedback_form_works_without_javascript_and_with_htmx(write):
    article = write("Printer jam")
    client = Client()
    response = client.post(f"/help/articles/{article.pk}/feedback/",
                           {"helpful": "no", "comment": "Tray?"})  # fmt: skip
    assert response.status_code == 302
    response = client.post(f"/help/articles/{article.pk}/feedback/", {"helpful": "yes"},
                           headers={"HX-Request": "true"})  # fmt: skip
    assert response.status_code == 200
    assert b"Thank you for your feedback" in response.content
    article.refresh_from_db()
    assert (article.helpful_yes, article.helpful_no) == (1, 0)


# -- the FAQ ---------------------------------------------------------------------------


@pytest.fixture
def ask(carol, printing):
    def make(question, **overrides):
        overrides.setdefault("category", printing)
        overrides.setdefault("answer", "The answer.")
        overrides.setdefault("published", True)
        return services.create_faq_entry(acting_user=carol, question=question, **overrides)

    return make


def test_the_faq_is_ordered_by_helpfulness_then_views(ask, maria):
    viewed = ask("Most viewed?")
    helpful = ask("Most helpful?")
    ask("Neither?")
    type(viewed).objects.filter(pk=viewed.pk).update(views=50)
    type(helpful).objects.filter(pk=helpful.pk).update(views=5, helpful_yes=4, helpful_no=1)
    assert [e.question for e in queries.faq(maria, "en")] == [
        "Most helpful?", "Most viewed?", "Neither?",
    ]  # fmt: skip


def test_the_faq_shows_the_readers_language_first(ask, maria):
    ask("In English?", language="en")
    ask("¿En español?", language="es")
    assert [e.question for e in queries.faq(maria, "es")] == ["¿En español?", "In English?"]


def test_the_faq_respects_visibility_and_publication(ask, acme, maria, pedro):
    ask("Public?")
    ask("For Acme?", visibility=Visibility.ORGANIZATIONS, organizations=[acme])
    ask("Internal?", visibility=Visibility.AGENTS)
    ask("Not yet?", published=False)
    assert {e.question for e in queries.faq(maria, "en")} == {"Public?", "For Acme?"}
    assert {e.question for e in queries.faq(pedro, "en")} == {"Public?"}
    assert {e.question for e in queries.faq(AnonymousUser(), "en")} == {"Public?"}


def test_agents_write_faq_entries_that_supervisors_publish(alice, carol, printing):
    with pytest.raises(PermissionDenied):
        services.create_faq_entry(acting_user=alice, category=printing, question="Q?",
                                  answer="A.", published=True)  # fmt: skip
    entry = services.create_faq_entry(acting_user=alice, category=printing, question="Q?",
                                      answer="A <script>x</script>")  # fmt: skip
    assert "<script" not in entry.answer_html
    services.update_faq_entry(entry, acting_user=carol, published=True)
    with pytest.raises(PermissionDenied):
        services.update_faq_entry(entry, acting_user=alice, question="Changed?")


def test_faq_views_and_votes_count_once_per_session(ask):
    entry = ask("Toner?")
    client = Client()
    for _ in range(2):
        assert client.post(f"/help/faq/{entry.pk}/viewed/").status_code == 204
        client.post(f"/help/faq/{entry.pk}/feedback/", {"helpful": "yes"})
    entry.refresh_from_db()
    assert (entry.views, entry.helpful_yes) == (1, 1)


def test_the_faq_page_lists_entries_by_category(ask, maria):
    ask("Toner?", answer="Use **original** toner.")
    client = Client()
    client.force_login(maria)
    page = client.get("/help/faq/").content.decode()
    assert "Printing" in page and "Toner?" in page and "<strong>original</strong>" in page
