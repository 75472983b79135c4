"""POST /api/v1/problems/webhooks/{tracker_id}: each tracker's signed status event marks
the bug fixed (BUG_FIXED on every linked ticket, the requesters told once when the
problem says so); unsigned 401, wrongly signed 403, malformed 400, unknown 404."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.test import Client

from soporte.mail.models import OutboundMail
from soporte.problems.models import BugState, Problem
from soporte.tickets.models import EventKind

from .conftest import SECRET


@pytest.fixture
def reported(make_problem, ticket, make_tracker):
    """A problem reported as bug 7 of the tracker kind asked for, linked to the ticket."""

    def make(kind: str, key: str = "7", **fields):
        tracker = make_tracker(kind)
        problem = make_problem(tickets=[ticket], **fields)
        Problem.objects.filter(pk=problem.pk).update(
            tracker=tracker, bug_key=key, bug_state=BugState.OPEN
        )
        return tracker, problem

    return make


def _post(tracker, payload, *, headers=None, query="", raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return Client().post(
        f"/api/v1/problems/webhooks/{tracker.pk}{query}",
        body,
        content_type="application/json",
        headers=headers or {},
    )


def _signed(body: bytes, key: str = SECRET) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


GITHUB_CLOSED = {
    "action": "closed",
    "issue": {"number": 7, "state": "closed", "html_url": "https://gh.example/i/7"},
    "repository": {"full_name": "acme/app"},
}


def test_a_signed_github_close_marks_the_bug_fixed_and_tells_the_requester_once(
    committed, reported, ticket, maria
):
    tracker, problem = reported("github", notify_when_fixed=True)
    body = json.dumps(GITHUB_CLOSED).encode()
    headers = {"X-Hub-Signature-256": _signed(body), "X-GitHub-Event": "issues"}
    with committed():
        first = _post(tracker, None, raw=body, headers=headers)
        again = _post(tracker, None, raw=body, headers=headers)
    assert (first.status_code, first.json()) == (200, {"changed": 1})
    assert again.json() == {"changed": 0}
    problem.refresh_from_db()
    assert problem.bug_state == BugState.FIXED and problem.bug_fixed_at
    assert ticket.events.filter(kind=EventKind.BUG_FIXED).count() == 1
    assert OutboundMail.objects.filter(ticket=ticket, to=[maria.email], kind="rule").count() == 1


def test_the_requester_is_not_told_unless_the_problem_says_so(committed, reported, ticket):
    tracker, _problem = reported("github")
    body = json.dumps(GITHUB_CLOSED).encode()
    with committed():
        response = _post(tracker, None, raw=body, headers={"X-Hub-Signature-256": _signed(body)})
    assert response.json() == {"changed": 1}
    assert ticket.events.filter(kind=EventKind.BUG_FIXED).exists()
    assert not OutboundMail.objects.filter(ticket=ticket, kind="rule").exists()


def test_another_repositorys_issue_with_the_same_number_changes_nothing(reported):
    tracker, problem = reported("github")
    payload = {**GITHUB_CLOSED, "repository": {"full_name": "acme/other"}}
    body = json.dumps(payload).encode()
    response = _post(tracker, None, raw=body, headers={"X-Hub-Signature-256": _signed(body)})
    assert response.json() == {"changed": 0}
    problem.refresh_from_db()
    assert problem.bug_state == BugState.OPEN


def test_a_github_ping_is_accepted_and_ignored(reported):
    tracker, _problem = reported("github")
    body = b'{"zen": "Keep it simple."}'
    headers = {"X-Hub-Signature-256": _signed(body), "X-GitHub-Event": "ping"}
    assert _post(tracker, None, raw=body, headers=headers).json() == {"changed": 0}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="unsigned"),
        pytest.param({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 403, id="wrong signature"),
        pytest.param({"X-Hub-Signature-256": "garbage"}, 403, id="garbled signature"),
    ],
)
def test_an_unsigned_or_wrongly_signed_webhook_is_refused(reported, headers, status):
    tracker, problem = reported("github")
    response = _post(tracker, GITHUB_CLOSED, headers=headers)
    assert response.status_code == status
    assert response.json()["detail"]
    problem.refresh_from_db()
    assert problem.bug_state == BugState.OPEN


def test_signed_with_another_secret_is_refused(reported):
    tracker, _problem = reported("github")
    body = json.dumps(GITHUB_CLOSED).encode()
    headers = {"X-Hub-Signature-256": _signed(body, "not-the-secret")}
    assert _post(tracker, None, raw=body, headers=headers).status_code == 403


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'{"issue": {"state": "closed"}}', b'{"issue": "x"}'],
)
def test_a_signed_but_malformed_body_is_a_4xx(reported, raw):
    tracker, _problem = reported("github")
    response = _post(tracker, None, raw=raw, headers={"X-Hub-Signature-256": _signed(raw)})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_an_unknown_or_inactive_tracker_is_404(reported):
    tracker, _problem = reported("github")
    tracker.active = False
    tracker.save()
    assert _post(tracker, GITHUB_CLOSED).status_code == 404


def test_a_gitlab_close_needs_its_token(committed, reported, ticket):
    tracker, problem = reported("gitlab", key="12")
    payload = {"object_kind": "issue", "object_attributes": {"iid": 12, "state": "closed"}}
    assert _post(tracker, payload, headers={"X-Gitlab-Token": "wrong"}).status_code == 403
    with committed():
        response = _post(tracker, payload, headers={"X-Gitlab-Token": SECRET})
    assert response.json() == {"changed": 1}
    assert ticket.events.filter(kind=EventKind.BUG_FIXED).exists()


def test_a_jira_done_takes_the_secret_in_the_url(committed, reported):
    tracker, problem = reported("jira", key="DEV-3")
    payload = {
        "webhookEvent": "jira:issue_updated",
        "issue": {"key": "DEV-3", "fields": {"status": {"statusCategory": {"key": "done"}}}},
    }
    assert _post(tracker, payload, query="?secret=nope").status_code == 403
    with committed():
        response = _post(tracker, payload, query=f"?secret={SECRET}")
    assert response.json() == {"changed": 1}
    problem.refresh_from_db()
    assert problem.bug_state == BugState.FIXED


def test_the_generic_webhook_reopens_and_fixes(committed, reported):
    tracker, problem = reported("webhook", key="B-1")
    for state, expected in (("fixed", BugState.FIXED), ("open", BugState.OPEN)):
        body = json.dumps({"key": "B-1", "state": state}).encode()
        with committed():
            signed = {"X-Soporte-Signature": _signed(body)}
            response = _post(tracker, None, raw=body, headers=signed)
        assert response.json() == {"changed": 1}
        problem.refresh_from_db()
        assert problem.bug_state == expected


def test_another_gitlab_projects_issue_changes_nothing(reported):
    tracker, problem = reported("gitlab", key="12")
    payload = {
        "object_kind": "issue",
        "project": {"id": 99, "path_with_namespace": "acme/other"},
        "object_attributes": {"iid": 12, "state": "closed"},
    }
    response = _post(tracker, payload, headers={"X-Gitlab-Token": SECRET})
    assert response.json() == {"changed": 0}
    problem.refresh_from_db()
    assert problem.bug_state == BugState.OPEN
