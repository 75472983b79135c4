"""Every refusal of the API is a 4xx with a JSON `{"detail": ...}` body; personal tokens.

400 unreadable input, 401 nobody signed in, 403 not allowed, 404 absent or hidden,
409 changed since loaded (or closed), 413 too large, 415 refused file, 422 invalid input.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from soporte.accounts import services as accounts
from soporte.accounts.models import ApiToken
from soporte.api import api as ninja_api
from soporte.tickets import services
from soporte.tickets.models import Ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
WINDOWS_PROGRAM = b"MZ\x90\x00" + b"\x00" * 60


def detail(response, status: int):
    """The response's `detail`, after checking the status and the JSON error shape."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"detail"}, body
    assert body["detail"], body
    return body["detail"]


def cursor(value, pk) -> str:
    raw = json.dumps([value, pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def upload(client, number: int, name: str, content: bytes, **fields):
    return client.client.post(
        f"/api/v1/tickets/{number}/attachments",
        {"file": SimpleUploadedFile(name, content), **fields},
        headers=client.headers,
    )


# -- 400 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        pytest.param("-updated_at", "not base64 at all!", id="not-base64"),
        pytest.param("-updated_at", base64.urlsafe_b64encode(b"{oops").decode(), id="not-json"),
        pytest.param("-updated_at", base64.urlsafe_b64encode(b'"text"').decode(), id="not-a-pair"),
        pytest.param("-updated_at", cursor("2024-01-01T00:00:00Z", "7"), id="id-not-a-number"),
        pytest.param("-updated_at", cursor("2024-01-01T00:00:00Z", True), id="id-a-boolean"),
        pytest.param("-updated_at", cursor("yesterday", 7), id="time-not-a-time"),
        pytest.param("-updated_at", cursor("2024-13-45T00:00:00", 7), id="time-impossible"),
        pytest.param("-updated_at", cursor(None, 7), id="time-missing"),
        pytest.param("number", cursor("1001", 7), id="number-a-string"),
        pytest.param("priority", cursor("P9", 7), id="priority-unknown"),
        pytest.param("priority", cursor("P1\x00", 7), id="priority-with-nul"),
    ],
)
def test_a_cursor_the_server_never_issued_is_a_bad_request(api, alice, ticket, sort, value):
    """Returns 400 for a forged or damaged cursor, on either database."""
    response = api(alice).get("/tickets", {"sort": sort, "cursor": value})
    assert "cursor" in detail(response, 400)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        pytest.param("2024-06-01T10:00:00-19:01", 200, id="offset-postgres-refuses"),
        pytest.param("9999-12-31T23:59:59-23:59", 400, id="past-the-end-of-time"),
    ],
)
def test_a_cursor_time_with_an_extreme_offset_is_compared_in_utc(api, alice, ticket, value, status):
    """Python takes offsets up to ±23:59, PostgreSQL refuses those past ±15:59."""
    response = api(alice).get("/tickets", {"sort": "updated_at", "cursor": cursor(value, 7)})
    assert response.status_code == status, response.content
    if status == 200:
        assert [item["number"] for item in response.json()["items"]] == [ticket.number]
    else:
        detail(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="broken-json"),
        pytest.param(b'{"subject": "Printer"', id="truncated-json"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
    ],
)
def test_a_body_that_is_not_json_is_a_bad_request(api, maria, body):
    client = api(maria)
    response = client.client.post("/api/v1/tickets", body, content_type="application/json")
    detail(response, 400)


def test_a_body_over_the_memory_limit_is_too_large_and_still_json(api, maria, settings):
    """Django's DATA_UPLOAD_MAX_MEMORY_SIZE answer is an HTML page; the API keeps JSON."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = api(maria).post("/tickets", {"subject": "Printer", "body": "x" * 5_000})
    detail(response, 413)


# -- 401 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer", id="no-token"),
        pytest.param("Bearer nonsense", id="no-prefix"),
        pytest.param("Bearer sop_", id="prefix-only"),
        pytest.param("Bearer sop_0123456789ab_wrongsecret", id="unknown-key"),
        pytest.param("Basic YWRhOnNlY3JldA==", id="basic-auth"),
        pytest.param("Bearer sop_01\x0023_secret", id="nul-in-key-id"),
        pytest.param("Bearer sop_" + "ab" * 100 + "_secret", id="key-id-too-long"),
    ],
)
def test_without_valid_credentials_the_api_answers_401(api, db, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = api().get("/me", **headers)
    assert "Authentication required" in detail(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_session_without_the_csrf_token_cannot_change_anything(maria):
    """A signed-in browser must send the CSRF token on unsafe methods (403)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(maria)
    assert client.get("/api/v1/me").status_code == 200
    response = client.post(
        "/api/v1/tokens", json.dumps({"name": "x"}), content_type="application/json"
    )
    assert "CSRF" in detail(response, 403)
    assert not ApiToken.objects.exists()


# -- tokens -------------------------------------------------------------------------


def test_a_token_is_shown_once_works_as_bearer_and_is_refused_once_revoked(api, maria):
    # given: Maria makes a token while signed in
    response = api(maria).post("/tokens", {"name": "backup script"})
    assert response.status_code == 201, response.content
    created = response.json()
    key = created["key"]
    assert key.startswith("sop_")
    assert created["revoked_at"] is None
    # when: a script uses it
    script = api(token=key)
    me = script.get("/me")
    # then: it acts as Maria, and can even write without a CSRF token
    assert me.status_code == 200, me.content
    assert me.json()["username"] == "maria"
    assert script.post("/tickets", {"subject": "Sent by cron", "body": "Hi"}).status_code == 201
    assert ApiToken.objects.get(pk=created["id"]).last_used_at is not None
    # when: she revokes it
    revoked = api(maria).delete(f"/tokens/{created['id']}")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["revoked_at"] is not None
    assert "key" not in revoked.json()
    # then: the script is refused
    detail(script.get("/me"), 401)
    detail(script.post("/tickets", {"subject": "Sent by cron", "body": "Hi"}), 401)


def test_the_token_list_never_shows_a_key(api, maria):
    key = api(maria).post("/tokens", {"name": "backup script"}).json()["key"]
    secret = key.split("_", 2)[2]  # sop_<id>_<secret>; the secret may hold "_" itself
    for client in (api(maria), api(token=key)):
        response = client.get("/tokens")
        assert response.status_code == 200
        [listed] = response.json()
        assert listed["name"] == "backup script"
        assert "key" not in listed
        assert secret not in response.content.decode()
    # Only a hash is kept.
    assert secret not in ApiToken.objects.get().key_hash


def test_a_token_with_the_right_id_and_a_wrong_secret_is_refused(api, maria):
    key = api(maria).post("/tokens", {"name": "backup script"}).json()["key"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    detail(api(token=forged).get("/me"), 401)


def test_the_token_of_a_disabled_account_is_refused(api, maria, ada):
    token, key = accounts.create_api_token(acting_user=maria, name="backup script")
    assert api(token=key).get("/me").status_code == 200
    accounts.update_user(maria, acting_user=ada, is_active=False)
    detail(api(token=key).get("/me"), 401)


def test_nobody_but_an_admin_revokes_someone_elses_token(api, maria, marco, ada):
    token, key = accounts.create_api_token(acting_user=maria, name="backup script")
    detail(api(marco).delete(f"/tokens/{token.pk}"), 404)
    assert api(token=key).get("/me").status_code == 200
    assert api(ada).delete(f"/tokens/{token.pk}").status_code == 200
    detail(api(token=key).get("/me"), 401)


# -- 403 and 404 --------------------------------------------------------------------


def test_a_forbidden_action_is_403_with_a_reason(api, maria, alice):
    assert "administrators" in detail(api(maria).post("/categories", {"name": "Phones"}), 403)
    assert "agents" in detail(api(maria).get("/users"), 403)
    assert "administrators" in detail(api(alice).post("/organizations", {"name": "X"}), 403)


def test_a_hidden_ticket_looks_exactly_like_an_absent_one(api, pedro, ticket):
    """Pedro (Globex) gets for Acme's ticket what he gets for a number never used."""
    client = api(pedro)
    hidden = detail(client.get(f"/tickets/{ticket.number}"), 404)
    absent = detail(client.get("/tickets/999999"), 404)
    assert hidden == f"Ticket #{ticket.number} not found."
    assert absent == "Ticket #999999 not found."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/tickets/{ticket}/attachments/999999"),
        ("patch", "/users/999999"),
        ("patch", "/organizations/999999"),
        ("delete", "/tokens/999999"),
    ],
)
def test_a_missing_thing_is_404(api, ada, ticket, method, path):
    client = api(ada)
    url = path.format(ticket=ticket.number)
    response = client.delete(url) if method == "delete" else getattr(client, method)(url)
    detail(response, 404)


# -- 409 ----------------------------------------------------------------------------

# Every action that takes `version`: the state the ticket must be in for it to succeed,
# and a body (`{alice}` and `{other}` are filled in with Alice's id and another ticket).
VERSIONED = [
    pytest.param("PATCH", "/tickets/{number}", "open", {"subject": "Toner"}, id="update"),
    pytest.param("POST", "/tickets/{number}/messages", "open", {"body": "Hi"}, id="reply"),
    pytest.param(
        "POST", "/tickets/{number}/messages", "open", {"kind": "note", "body": "Hm"}, id="note"
    ),
    pytest.param(
        "POST", "/tickets/{number}/messages", "open", {"kind": "call", "body": "Rang"}, id="call"
    ),
    pytest.param(
        "POST", "/tickets/{number}/assign", "open", {"assignee_id": "{alice}"}, id="assign"
    ),
    pytest.param("POST", "/tickets/{number}/escalate", "open", {"reason": "L2"}, id="escalate"),
    pytest.param(
        "POST", "/tickets/{number}/deescalate", "at L2", {"reason": "L1"}, id="deescalate"
    ),
    pytest.param(
        "POST", "/tickets/{number}/status", "open", {"status": "pending_customer"}, id="status"
    ),
    pytest.param(
        "POST", "/tickets/{number}/resolve", "open", {"resolution": "Toner"}, id="resolve"
    ),
    pytest.param("POST", "/tickets/{number}/reopen", "resolved", {"reason": "Again"}, id="reopen"),
    pytest.param("POST", "/tickets/{number}/close", "resolved", {}, id="close"),
    pytest.param("POST", "/tickets/{number}/merge", "open", {"into": "{other}"}, id="merge"),
]


def _operations_with_a_version() -> set[tuple[str, str]]:
    spec = ninja_api.get_openapi_schema()
    schemas = spec["components"]["schemas"]
    found = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                ref = media["schema"].get("$ref", "")
                properties = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
                if "version" in properties:
                    found.add((method.upper(), path.removeprefix("/api/v1")))
    return found


# Versioned actions on other objects have their own stale-version tests: macros applied
# to a ticket (tests/tickets/test_macros.py), articles (tests/kb/test_api.py) and assets
# (tests/assets/test_api.py).
TESTED_ELSEWHERE = {
    ("POST", "/tickets/{number}/macros/{macro_id}/apply"),
}


def test_every_action_that_takes_a_version_is_in_the_conflict_table():
    on_tickets = {
        operation
        for operation in _operations_with_a_version()
        if operation[1].startswith("/tickets/")
    }
    assert on_tickets - TESTED_ELSEWHERE == {tuple(case.values[:2]) for case in VERSIONED}


def _fill(body: dict, **values) -> dict:
    return {
        key: int(value.format(**values)) if isinstance(value, str) and "{" in value else value
        for key, value in body.items()
    }


@pytest.mark.parametrize(("method", "path", "state", "body"), VERSIONED)
def test_a_stale_version_is_refused_with_409_and_changes_nothing(
    api, carol, ada, alice, maria, teams, make_ticket, method, path, state, body
):
    # given: a ticket of the L1 queue in the state the action needs
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    other = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    if state == "at L2":
        services.escalate(ticket, acting_user=carol, reason="Needs L2")
    elif state == "resolved":
        services.resolve(ticket, acting_user=carol, resolution="Rebooted.")
    ticket.refresh_from_db()
    loaded = ticket.version
    # ...that someone else changes after Carol loaded it
    services.update_ticket(ticket, acting_user=ada, subject="Changed meanwhile")
    counts = (ticket.messages.count(), ticket.events.count())
    body = _fill(body, alice=alice.pk, other=other.number)
    client = api(carol)
    url = path.format(number=ticket.number)
    send = getattr(client, method.lower())
    # when: Carol acts on what she loaded
    response = send(url, {**body, "version": loaded})
    # then: refused, and nothing of it was written
    assert "changed by someone else" in detail(response, 409)
    ticket.refresh_from_db()
    assert ticket.version == loaded + 1
    assert ticket.subject == "Changed meanwhile"
    assert (ticket.messages.count(), ticket.events.count()) == counts
    # and with the version she reloads, the same action goes through
    retry = send(url, {**body, "version": ticket.version})
    assert retry.status_code in (200, 201), retry.content


def test_a_closed_ticket_takes_no_reply(api, maria, alice, ticket):
    services.resolve(ticket, acting_user=alice, resolution="Rebooted.")
    services.close(ticket, acting_user=alice)
    for person in (maria, alice):
        response = api(person).post(f"/tickets/{ticket.number}/messages", {"body": "Again!"})
        assert "closed" in detail(response, 409)
    assert ticket.messages.count() == 1


def test_creating_what_already_exists_is_409(api, ada, acme):
    assert "exists" in detail(api(ada).post("/organizations", {"name": "ACME"}), 409)
    api(ada).post("/categories", {"name": "Phones"})
    assert "exists" in detail(api(ada).post("/categories", {"name": "phones"}), 409)


# -- 413 and 415 --------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_with_413(api, maria, ticket, settings):
    settings.MAX_ATTACHMENT_BYTES = 16
    client = api(maria)
    assert "larger" in detail(upload(client, ticket.number, "log.txt", b"x" * 17), 413)
    assert upload(client, ticket.number, "log.txt", b"x" * 16).status_code == 201
    assert ticket.attachments.count() == 1


def test_a_request_body_over_the_limit_is_refused_before_it_is_read(api, maria, ticket, settings):
    """The middleware answers from Content-Length, in the API's JSON shape."""
    settings.MAX_ATTACHMENT_BYTES = 1
    response = upload(api(maria), ticket.number, "big.txt", b"x" * 1_100_000)
    assert "larger" in detail(response, 413)
    assert not ticket.attachments.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("setup.exe", b"just text", id="program-by-name"),
        pytest.param("run.bat", b"@echo off", id="script-by-name"),
        pytest.param("holiday.png", WINDOWS_PROGRAM, id="program-by-content"),
        pytest.param("invoice.pdf", PNG, id="content-contradicts-name"),
    ],
)
def test_a_program_or_a_disguised_file_is_refused_with_415(api, maria, ticket, name, content):
    response = upload(api(maria), ticket.number, name, content)
    detail(response, 415)
    assert not ticket.attachments.exists()


# -- 422 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-subject"),
        pytest.param({"subject": ""}, id="empty-subject"),
        pytest.param({"subject": "x" * 251}, id="subject-too-long"),
        pytest.param({"subject": "Printer\x00jam"}, id="nul-byte"),
        pytest.param({"subject": "Printer", "impact": "apocalyptic"}, id="unknown-choice"),
        pytest.param({"subject": "Printer", "tags": "not-a-list"}, id="wrong-type"),
        pytest.param({"subject": "Printer", "due_at": "tomorrow"}, id="not-a-time"),
        pytest.param({"subject": "Printer", "category_id": 0}, id="id-out-of-range"),
    ],
)
def test_an_invalid_ticket_is_refused_with_422_saying_what_is_wrong(api, maria, body):
    problems = detail(api(maria).post("/tickets", body), 422)
    assert isinstance(problems, list)
    assert all({"loc", "msg"} <= set(problem) for problem in problems)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"status": "lost"},
        {"updated_since": "last week"},
        {"assignee": "someone"},
        {"sort": "subject"},
        {"q": "x" * 201},
    ],
)
def test_an_invalid_list_query_is_refused_with_422(api, alice, params):
    detail(api(alice).get("/tickets", params), 422)


@pytest.mark.parametrize("path", ["/tickets", "/users"])
def test_a_nul_byte_in_a_search_is_refused_with_422(api, alice, path):
    """PostgreSQL cannot compare text with a NUL byte: refused before the query."""
    detail(api(alice).get(path, {"q": "pri\x00nter"}), 422)


@pytest.mark.parametrize("number", ["0", "-1", "2147483648", "abc"])
def test_a_ticket_number_out_of_range_is_refused_with_422(api, alice, number):
    detail(api(alice).get(f"/tickets/{number}"), 422)


def test_a_rule_the_service_enforces_is_422_with_a_sentence(api, alice, maria, teams, make_ticket):
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    client = api(alice)
    reason = detail(client.post(f"/tickets/{ticket.number}/escalate", {"reason": "   "}), 422)
    assert reason == "A reason is required."
    missing = detail(
        client.post("/tickets", {"subject": "VPN", "body": "x", "requester_id": 999_999}), 422
    )
    assert missing == "User 999999 does not exist."
    empty = detail(client.post(f"/tickets/{ticket.number}/messages", {"body": " "}), 422)
    assert empty == "The message is empty."
