"""Reporting to development: each adapter against the local tracker stand-in, retries on
5xx and network errors, 4xx failures shown with "try again", and the bug's key and URL
on the problem with a BUG_REPORTED event on each linked ticket."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket

import pytest

from soporte.problems import services
from soporte.problems.models import BugState, DeliveryStatus
from soporte.tickets.models import EventKind

from .conftest import JIRA_USER, TOKEN


def _report(committed, problem, user, tracker=None):
    with committed():
        report = services.report_to_development(problem, acting_user=user, tracker=tracker)
    report.refresh_from_db()
    problem.refresh_from_db()
    return report


def test_a_github_bug_is_filed_and_its_key_and_url_kept(
    committed, alice, ticket, make_problem, make_tracker, fake_trackers
):
    tracker = make_tracker("github")
    problem = make_problem(tickets=[ticket], root_cause="Bad driver", workaround="Use tray 2")
    report = _report(committed, problem, alice)

    [sent] = fake_trackers.posts()
    assert sent.path == "/repos/acme/app/issues"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/vnd.github+json"
    body = sent.json()
    assert body["title"] == problem.title
    assert "Bad driver" in body["body"] and f"#{ticket.number}" in body["body"]
    number = fake_trackers.next_number
    assert (report.status, report.attempts) == (DeliveryStatus.SENT, 1)
    assert (problem.tracker, problem.bug_key) == (tracker, str(number))
    assert problem.bug_url == f"https://gh.example/i/{number}"
    assert problem.bug_state == BugState.OPEN
    event = ticket.events.get(kind=EventKind.BUG_REPORTED)
    assert event.data["bug"] == str(number)
    assert str(number) in event.data["summary"]


def test_a_gitlab_issue_goes_to_the_url_encoded_project_with_a_private_token(
    committed, alice, make_problem, make_tracker, fake_trackers
):
    make_tracker("gitlab", project="acme/app")
    problem = make_problem(description="Blank pages")
    _report(committed, problem, alice)
    [sent] = fake_trackers.posts()
    assert sent.path == "/api/v4/projects/acme%2Fapp/issues"
    assert sent.headers["PRIVATE-TOKEN"] == TOKEN
    assert sent.json()["description"].startswith("Blank pages")
    assert problem.bug_url == f"https://gl.example/i/{problem.bug_key}"


@pytest.mark.parametrize("version", ["2", "3"])
def test_a_jira_issue_is_created_with_basic_authentication(
    committed, alice, make_problem, make_tracker, fake_trackers, version
):
    make_tracker("jira", jira_api_version=version, issue_type="Bug")
    problem = make_problem(description="Blank pages")
    _report(committed, problem, alice)
    [sent] = fake_trackers.posts()
    assert sent.path == f"/rest/api/{version}/issue"
    pair = base64.b64encode(f"{JIRA_USER}:{TOKEN}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {pair}"
    fields = sent.json()["fields"]
    assert fields["project"] == {"key": "DEV"}
    assert fields["issuetype"] == {"name": "Bug"}
    assert fields["summary"] == problem.title
    if version == "2":
        assert fields["description"].startswith("Blank pages")
    else:
        assert fields["description"]["type"] == "doc"
    assert problem.bug_key.startswith("DEV-")
    assert problem.bug_url == f"{fake_trackers.url}/browse/{problem.bug_key}"


def test_the_generic_webhook_is_signed_with_hmac_sha256(
    committed, alice, ticket, make_problem, make_tracker, fake_trackers
):
    make_tracker("webhook")
    problem = make_problem(tickets=[ticket])
    _report(committed, problem, alice)
    [sent] = fake_trackers.posts()
    expected = "sha256=" + hmac.new(TOKEN.encode(), sent.body, hashlib.sha256).hexdigest()
    assert sent.headers["X-Soporte-Signature"] == expected
    payload = sent.json()
    assert payload["problem"]["id"] == problem.pk
    assert payload["tickets"] == [ticket.number]
    assert problem.bug_key.startswith("HOOK-")


def test_a_5xx_is_tried_again_until_the_tracker_takes_it(
    committed, alice, make_problem, make_tracker, fake_trackers
):
    make_tracker("github")
    fake_trackers.failures = [503, 502]
    problem = make_problem()
    report = _report(committed, problem, alice)
    assert len(fake_trackers.posts()) == 3
    assert (report.status, report.attempts, report.last_error) == (DeliveryStatus.SENT, 3, "")
    assert problem.bug_key


def test_a_4xx_fails_at_once_visibly_and_try_again_sends_it(
    committed, alice, bob, ticket, make_problem, make_tracker, fake_trackers
):
    make_tracker("github")
    fake_trackers.failures = [422]
    problem = make_problem(tickets=[ticket])
    report = _report(committed, problem, alice)
    assert len(fake_trackers.posts()) == 1
    assert (report.status, report.attempts) == (DeliveryStatus.FAILED, 1)
    assert "422" in report.last_error and "failure 422" in report.last_error
    assert not problem.bug_key
    assert services.failed_reports([problem]) == [report]

    with committed():
        services.retry_report(report, acting_user=bob)
    report.refresh_from_db()
    problem.refresh_from_db()
    assert report.status == DeliveryStatus.SENT
    assert problem.bug_key
    assert services.failed_reports([problem]) == []


def test_a_refused_connection_is_retried_then_fails(committed, alice, make_problem, make_tracker):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    make_tracker("github", base_url=f"http://127.0.0.1:{port}")
    problem = make_problem()
    report = _report(committed, problem, alice)
    assert report.status == DeliveryStatus.FAILED
    assert report.attempts == services.MAX_DELIVERY_ATTEMPTS
    assert "could not be reached" in report.last_error


def test_a_missing_token_fails_naming_the_variable_not_a_value(
    committed, alice, make_problem, make_tracker, fake_trackers, monkeypatch
):
    monkeypatch.delenv("PROBLEMS_TEST_TOKEN")
    make_tracker("github")
    report = _report(committed, make_problem(), alice)
    assert report.status == DeliveryStatus.FAILED
    assert "PROBLEMS_TEST_TOKEN" in report.last_error
    assert fake_trackers.posts() == []


def test_a_problem_is_reported_once(committed, alice, make_problem, make_tracker, fake_trackers):
    make_tracker("github")
    problem = make_problem()
    _report(committed, problem, alice)
    with pytest.raises(services.Conflict):
        services.report_to_development(problem, acting_user=alice)
    assert len(fake_trackers.posts()) == 1


def test_without_a_tracker_reporting_is_refused(alice, make_problem):
    with pytest.raises(services.InvalidInput, match="No development tracker"):
        services.report_to_development(make_problem(), acting_user=alice)


def test_reporting_a_ticket_makes_a_problem_from_it(
    committed, alice, ticket, make_tracker, fake_trackers
):
    make_tracker("github")
    with committed():
        report = services.report_ticket(ticket, acting_user=alice)
    problem = report.problem
    problem.refresh_from_db()
    assert problem.title == ticket.subject
    assert list(problem.tickets.all()) == [ticket]
    assert problem.bug_key
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert EventKind.PROBLEM_LINKED in kinds and EventKind.BUG_REPORTED in kinds


def test_a_ticket_with_several_problems_asks_which(alice, ticket, make_problem, make_tracker):
    make_tracker("github")
    make_problem(tickets=[ticket])
    make_problem(tickets=[ticket], title="Another")
    with pytest.raises(services.InvalidInput, match="several problems"):
        services.report_ticket(ticket, acting_user=alice)


def test_polling_finds_the_fixed_bug_and_tells_the_requester_once(
    committed, alice, maria, ticket, make_problem, make_tracker, fake_trackers
):
    from soporte.mail.models import OutboundMail

    make_tracker("github")
    problem = make_problem(tickets=[ticket], notify_when_fixed=True)
    _report(committed, problem, alice)
    fake_trackers.states[problem.bug_key] = "open"
    with committed():
        assert services.poll_bugs() == 0
    fake_trackers.states[problem.bug_key] = "closed"
    with committed():
        assert services.poll_bugs() == 1
        assert services.poll_bugs() == 0  # no longer open: not asked again
    problem.refresh_from_db()
    assert problem.bug_state == BugState.FIXED
    assert ticket.events.filter(kind=EventKind.BUG_FIXED).count() == 1
    mails = OutboundMail.objects.filter(ticket=ticket, to=[maria.email], kind="rule")
    assert mails.count() == 1
    assert problem.title in mails.get().subject


def test_polling_a_jira_bug_reads_its_status_category(
    committed, alice, ticket, make_problem, make_tracker, fake_trackers
):
    make_tracker("jira")
    problem = make_problem(tickets=[ticket])
    _report(committed, problem, alice)
    fake_trackers.states[problem.bug_key] = "closed"
    with committed():
        assert services.poll_bugs() == 1
    problem.refresh_from_db()
    assert problem.bug_state == BugState.FIXED


def test_a_tracker_link_that_is_not_a_web_address_is_not_kept(
    committed, alice, make_problem, make_tracker, fake_trackers, monkeypatch
):
    from soporte.problems import trackers

    make_tracker("github")
    monkeypatch.setattr(
        trackers.GitHub, "create", lambda self, report: trackers.CreatedBug("9", "javascript:x")
    )
    problem = make_problem()
    _report(committed, problem, alice)
    assert (problem.bug_key, problem.bug_url) == ("9", "")


def test_reindexing_rewrites_every_problems_document(make_problem):
    from soporte.problems.indexing import KIND, reindex_problems
    from soporte.search.models import Document

    first, second = make_problem(title="One"), make_problem(title="Two")
    Document.objects.filter(kind=KIND).delete()
    assert reindex_problems() == 2
    titles = set(Document.objects.filter(kind=KIND).values_list("title", flat=True))
    assert titles == {first.title, second.title}


def test_an_unexpected_error_fails_the_report_visibly(
    committed, alice, make_problem, make_tracker, monkeypatch
):
    from soporte.problems import trackers

    def broken(self, report):
        raise KeyError("oops")

    make_tracker("github")
    monkeypatch.setattr(trackers.GitHub, "create", broken)
    problem = make_problem()
    report = _report(committed, problem, alice)
    assert report.status == DeliveryStatus.FAILED
    assert "Unexpected error" in report.last_error
    assert services.failed_reports([problem]) == [report]
