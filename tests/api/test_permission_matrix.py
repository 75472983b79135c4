"""Who may call what: every endpoint of the API, for every kind of person.

The people (tests/conftest.py), one column each:
    nobody  not signed in                              -> 401 everywhere
    maria   requester of Acme, she opened the ticket
    marco   her colleague at Acme, not trusted with Acme's tickets
    pedro   requester of Globex, another organization
    alice   L1 agent of the Service Desk, the ticket's queue
    bob     L2 agent of Infrastructure, another team
    carol   supervisor
    ada     administrator

The ticket: Acme's, opened by Alice for Maria in the Service Desk L1 queue, with a public
reply, an internal note, an internal call, a public file (Maria's) and an internal file.

A forbidden action is 403 when the person may see the ticket, and 404 when they may not:
a hidden ticket looks absent. The table must name every operation of the OpenAPI
document, so a new endpoint fails here until someone decides who may call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from soporte.accounts import services as accounts
from soporte.accounts.models import User
from soporte.api import api as ninja_api
from soporte.jobs.models import Job, JobStatus
from soporte.mail.models import RawMessage
from soporte.sla.models import BusinessCalendar, Rule, SlaPolicy
from soporte.tickets import services
from soporte.tickets.models import Attachment, CannedResponse, Category, Message, Ticket

RULE = {"name": "VIP", "trigger": "created", "actions": [{"type": "add_tag", "value": "vip"}]}
OFFICE = {
    "name": "Office",
    "time_zone": "Europe/Madrid",
    "hours": [{"weekday": 0, "starts": "09:00", "ends": "18:00"}],
}


PEOPLE = ("nobody", "maria", "marco", "pedro", "alice", "bob", "carol", "ada")

# fmt: off
# What each person gets, in the order of PEOPLE.
EXPECTED = {
    #                                   nobody maria marco pedro alice  bob  carol  ada
    "list tickets":                     (401,  200,  200,  200,  200,  200,  200,  200),
    "open a ticket":                    (401,  201,  201,  201,  201,  201,  201,  201),
    "read the ticket":                  (401,  200,  404,  404,  200,  404,  200,  200),
    "change the ticket":                (401,  403,  404,  404,  200,  404,  200,  200),
    "read the conversation":            (401,  200,  404,  404,  200,  404,  200,  200),
    "reply":                            (401,  201,  404,  404,  201,  404,  201,  201),
    "add an internal note":             (401,  403,  404,  404,  201,  404,  201,  201),
    "log a call":                       (401,  403,  404,  404,  201,  404,  201,  201),
    "read the audit trail":             (401,  403,  404,  404,  200,  404,  200,  200),
    "assign":                           (401,  403,  404,  404,  200,  404,  200,  200),
    "escalate":                         (401,  403,  404,  404,  200,  404,  200,  200),
    # Escalated first: now in Bob's L2 queue, out of Alice's.
    "de-escalate":                      (401,  403,  404,  404,  404,  200,  200,  200),
    "change the status":                (401,  403,  404,  404,  200,  404,  200,  200),
    # Requesters may resolve their own ticket, and reopen it once resolved.
    "resolve":                          (401,  200,  404,  404,  200,  404,  200,  200),
    "reopen":                           (401,  200,  404,  404,  200,  404,  200,  200),
    "close":                            (401,  403,  404,  404,  200,  404,  200,  200),
    "merge into another ticket":        (401,  403,  404,  404,  200,  404,  200,  200),
    "list the files":                   (401,  200,  404,  404,  200,  404,  200,  200),
    "upload a file":                    (401,  201,  404,  404,  201,  404,  201,  201),
    "download the public file":         (401,  200,  404,  404,  200,  404,  200,  200),
    "download the internal file":       (401,  404,  404,  404,  200,  404,  200,  200),
    "list categories":                  (401,  200,  200,  200,  200,  200,  200,  200),
    "create a category":                (401,  403,  403,  403,  403,  403,  403,  201),
    "who am I":                         (401,  200,  200,  200,  200,  200,  200,  200),
    "list users":                       (401,  403,  403,  403,  200,  200,  200,  200),
    "create a user":                    (401,  403,  403,  403,  403,  403,  403,  201),
    "change a user":                    (401,  403,  403,  403,  403,  403,  403,  200),
    "list organizations":               (401,  403,  403,  403,  200,  200,  200,  200),
    "create an organization":           (401,  403,  403,  403,  403,  403,  403,  201),
    "change an organization":           (401,  403,  403,  403,  403,  403,  403,  200),
    "list teams":                       (401,  403,  403,  403,  200,  200,  200,  200),
    "create a team":                    (401,  403,  403,  403,  403,  403,  403,  201),
    "list my tokens":                   (401,  200,  200,  200,  200,  200,  200,  200),
    "make a token":                     (401,  201,  201,  201,  201,  201,  201,  201),
    "revoke my token":                  (401,  200,  200,  200,  200,  200,  200,  200),
    "revoke someone else's token":      (401,  404,  404,  404,  404,  404,  404,  200),
    "change a category":                (401,  403,  403,  403,  403,  403,  403,  200),
    "change a team":                    (401,  403,  403,  403,  403,  403,  403,  200),
    # Without words the search is refused (422) for everyone signed in; who finds which
    # tickets is tested in tests/search/.
    "search tickets":                   (401,  422,  422,  422,  422,  422,  422,  422),
    # The raw-MIME door takes its own token, not a person's: without it, refused.
    "deliver raw mail without the token": (403, 403,  403,  403,  403,  403,  403,  403),
    "list the mail quarantine":         (401,  403,  403,  403,  403,  403,  403,  200),
    "retry quarantined mail":           (401,  403,  403,  403,  403,  403,  403,  200),
    "list background jobs":             (401,  403,  403,  403,  403,  403,  403,  200),
    "run a failed job again":           (401,  403,  403,  403,  403,  403,  403,  200),
    "list SLA calendars":               (401,  403,  403,  403,  200,  200,  200,  200),
    "create an SLA calendar":           (401,  403,  403,  403,  403,  403,  403,  201),
    "replace an SLA calendar":          (401,  403,  403,  403,  403,  403,  403,  200),
    "list SLA policies":                (401,  403,  403,  403,  200,  200,  200,  200),
    "create an SLA policy":             (401,  403,  403,  403,  403,  403,  403,  201),
    "change an SLA policy":             (401,  403,  403,  403,  403,  403,  403,  200),
    "read the ticket's SLA":            (401,  403,  403,  403,  200,  404,  200,  200),
    "list automation rules":            (401,  403,  403,  403,  403,  403,  403,  200),
    "create an automation rule":        (401,  403,  403,  403,  403,  403,  403,  201),
    "change an automation rule":        (401,  403,  403,  403,  403,  403,  403,  200),
    "delete an automation rule":        (401,  403,  403,  403,  403,  403,  403,  204),
    # Macros: agents use the shared ones and their own; supervisors and admins manage the
    # shared ones; a personal macro is its owner's alone (someone else's looks absent).
    "list macros":                      (401,  403,  403,  403,  200,  200,  200,  200),
    "create a personal macro":          (401,  403,  403,  403,  201,  201,  201,  201),
    "create a shared macro":            (401,  403,  403,  403,  403,  403,  201,  201),
    "change a shared macro":            (401,  403,  403,  403,  403,  403,  200,  200),
    "change my macro":                  (401,  403,  403,  403,  200,  200,  200,  200),
    "change someone else's macro":      (401,  403,  403,  403,  404,  404,  404,  404),
    "delete a shared macro":            (401,  403,  403,  403,  403,  403,  204,  204),
    "delete my macro":                  (401,  403,  403,  403,  204,  204,  204,  204),
    "delete someone else's macro":      (401,  403,  403,  403,  404,  404,  404,  404),
    # Requesters are refused before the ticket is looked up; Bob does not see the ticket.
    "apply a shared macro":             (401,  403,  403,  403,  200,  404,  200,  200),
    "apply someone else's macro":       (401,  403,  403,  403,  404,  404,  404,  404),
}
# fmt: on


@dataclass(frozen=True)
class Call:
    """One request. `{name}` in the path or in a body value is filled in from the world;
    `setup` names a state the ticket is put in first."""

    method: str
    path: str  # as the OpenAPI document spells it
    body: dict | None = None
    setup: str = ""
    upload: bool = False


REQUESTS = {
    "list tickets": Call("GET", "/tickets"),
    "open a ticket": Call("POST", "/tickets", {"subject": "VPN down", "body": "It drops."}),
    "read the ticket": Call("GET", "/tickets/{number}"),
    "change the ticket": Call("PATCH", "/tickets/{number}", {"subject": "Jam on floor 2"}),
    "read the conversation": Call("GET", "/tickets/{number}/messages"),
    "reply": Call("POST", "/tickets/{number}/messages", {"kind": "reply", "body": "News?"}),
    "add an internal note": Call(
        "POST", "/tickets/{number}/messages", {"kind": "note", "body": "Fake toner."}
    ),
    "log a call": Call(
        "POST",
        "/tickets/{number}/messages",
        {"kind": "call", "body": "Rang her.", "internal": True},
    ),
    "read the audit trail": Call("GET", "/tickets/{number}/events"),
    "assign": Call("POST", "/tickets/{number}/assign", {"assignee_id": "{alice}"}),
    "escalate": Call("POST", "/tickets/{number}/escalate", {"reason": "Needs L2"}),
    "de-escalate": Call(
        "POST", "/tickets/{number}/deescalate", {"reason": "Back to L1"}, setup="escalated"
    ),
    "change the status": Call("POST", "/tickets/{number}/status", {"status": "pending_customer"}),
    "resolve": Call("POST", "/tickets/{number}/resolve", {"resolution": "New toner."}),
    "reopen": Call("POST", "/tickets/{number}/reopen", {"reason": "Jams again."}, setup="resolved"),
    "close": Call("POST", "/tickets/{number}/close", {}, setup="resolved"),
    "merge into another ticket": Call("POST", "/tickets/{number}/merge", {"into": "{other}"}),
    "list the files": Call("GET", "/tickets/{number}/attachments"),
    "upload a file": Call("POST", "/tickets/{number}/attachments", upload=True),
    "download the public file": Call(
        "GET", "/tickets/{number}/attachments/{attachment_id}", setup="public file"
    ),
    "download the internal file": Call(
        "GET", "/tickets/{number}/attachments/{attachment_id}", setup="internal file"
    ),
    "list categories": Call("GET", "/categories"),
    "create a category": Call("POST", "/categories", {"name": "Phones"}),
    "who am I": Call("GET", "/me"),
    "list users": Call("GET", "/users"),
    "create a user": Call("POST", "/users", {"username": "newbie", "email": "n@example.org"}),
    "change a user": Call("PATCH", "/users/{user_id}", {"first_name": "Marcos"}),
    "list organizations": Call("GET", "/organizations"),
    "create an organization": Call("POST", "/organizations", {"name": "Initech"}),
    "change an organization": Call("PATCH", "/organizations/{org_id}", {"name": "Acme Corp"}),
    "list teams": Call("GET", "/teams"),
    "create a team": Call("POST", "/teams", {"name": "Network L2", "tier": "L2"}),
    "list my tokens": Call("GET", "/tokens"),
    "make a token": Call("POST", "/tokens", {"name": "backup script"}),
    "revoke my token": Call("DELETE", "/tokens/{token_id}", setup="own token"),
    "revoke someone else's token": Call("DELETE", "/tokens/{token_id}", setup="Sara's token"),
    "change a category": Call("PATCH", "/categories/{category_id}", {"name": "Printing"}),
    "change a team": Call("PATCH", "/teams/{team_id}", {"email": "l1@soporte.example"}),
    "search tickets": Call("GET", "/search"),
    "deliver raw mail without the token": Call("POST", "/mail/inbound", {}),
    "list the mail quarantine": Call("GET", "/mail/quarantine"),
    "retry quarantined mail": Call(
        "POST", "/mail/quarantine/{raw_id}/retry", {}, setup="quarantined mail"
    ),
    "list background jobs": Call("GET", "/jobs"),
    "run a failed job again": Call("POST", "/jobs/{job_id}/retry", {}, setup="failed job"),
    "list SLA calendars": Call("GET", "/sla/calendars"),
    "create an SLA calendar": Call("POST", "/sla/calendars", OFFICE),
    "replace an SLA calendar": Call("PUT", "/sla/calendars/{calendar_id}", OFFICE),
    "list SLA policies": Call("GET", "/sla/policies"),
    "create an SLA policy": Call("POST", "/sla/policies", {"name": "P1", "priority": "P1"}),
    "change an SLA policy": Call("PATCH", "/sla/policies/{policy_id}", {"warn_percent": 80}),
    "read the ticket's SLA": Call("GET", "/sla/tickets/{number}"),
    "list automation rules": Call("GET", "/sla/rules"),
    "create an automation rule": Call("POST", "/sla/rules", RULE),
    "change an automation rule": Call("PATCH", "/sla/rules/{rule_id}", {"active": False}),
    "delete an automation rule": Call("DELETE", "/sla/rules/{rule_id}"),
    "list macros": Call("GET", "/macros"),
    "create a personal macro": Call(
        "POST", "/macros", {"title": "Thanks", "body": "Thanks, {{ requester.first_name }}!"}
    ),
    "create a shared macro": Call(
        "POST", "/macros", {"title": "Reboot", "body": "Please reboot.", "shared": True}
    ),
    "change a shared macro": Call(
        "PATCH", "/macros/{macro_id}", {"title": "Floor?"}, setup="shared macro"
    ),
    "change my macro": Call("PATCH", "/macros/{macro_id}", {"title": "Floor?"}, setup="own macro"),
    "change someone else's macro": Call(
        "PATCH", "/macros/{macro_id}", {"title": "Floor?"}, setup="Sara's macro"
    ),
    "delete a shared macro": Call("DELETE", "/macros/{macro_id}", setup="shared macro"),
    "delete my macro": Call("DELETE", "/macros/{macro_id}", setup="own macro"),
    "delete someone else's macro": Call("DELETE", "/macros/{macro_id}", setup="Sara's macro"),
    "apply a shared macro": Call(
        "POST", "/tickets/{number}/macros/{macro_id}/apply", {}, setup="shared macro"
    ),
    "apply someone else's macro": Call(
        "POST", "/tickets/{number}/macros/{macro_id}/apply", {}, setup="Sara's macro"
    ),
}


@dataclass
class World:
    people: dict[str, User | None]
    ticket: Ticket
    other: Ticket
    public_file: Attachment
    internal_file: Attachment
    note: Message
    values: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(ada, alice, bob, sara, carol, maria, marco, pedro, acme, teams, make_ticket):
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    services.reply(ticket, acting_user=alice, body="Which floor?")
    note = services.add_note(ticket, acting_user=alice, body="INTERNAL-NOTE: fake toner.")
    services.log_call(ticket, acting_user=alice, body="INTERNAL-CALL: she was upset.")
    public_file = _attach(ticket, maria, "jam.txt", b"PUBLIC-FILE")
    internal_file = _attach(ticket, alice, "supplier.txt", b"INTERNAL-FILE")
    assert (public_file.internal, internal_file.internal) == (False, True)
    other = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    people = dict(zip(PEOPLE, (None, maria, marco, pedro, alice, bob, carol, ada), strict=True))
    values = {
        "alice": alice.pk,
        "other": other.number,
        "user_id": marco.pk,
        "org_id": acme.pk,
        "team_id": teams["L1"].pk,
        "category_id": Category.objects.create(name="Printers").pk,
        "sara_token": accounts.create_api_token(acting_user=sara, name="hers")[0].pk,
        "calendar_id": BusinessCalendar.objects.create(name="Weekdays").pk,
        "policy_id": SlaPolicy.objects.create(name="Standard").pk,
        "rule_id": Rule.objects.create(
            name="Tag", trigger="created", actions=[{"type": "add_tag", "value": "x"}]
        ).pk,
        "sara_macro": CannedResponse.objects.create(owner=sara, title="Mine", body="Hers.").pk,
    }
    return World(people, ticket, other, public_file, internal_file, note, values)


def _attach(ticket: Ticket, user: User, name: str, content: bytes) -> Attachment:
    return services.add_attachment(
        ticket,
        acting_user=user,
        upload=SimpleUploadedFile(name, content),
        filename=name,
        size=len(content),
    )


def _prepare(call: Call, world: World, person: User | None) -> dict[str, int]:
    """Put the ticket in the state the call needs; the values to fill in."""
    carol = world.people["carol"]
    values = {**world.values, "number": world.ticket.number}
    if call.setup == "escalated":
        services.escalate(world.ticket, acting_user=carol, reason="Needs L2")
    elif call.setup == "resolved":
        services.resolve(world.ticket, acting_user=carol, resolution="New toner.")
    elif call.setup == "public file":
        values["attachment_id"] = world.public_file.pk
    elif call.setup == "internal file":
        values["attachment_id"] = world.internal_file.pk
    elif call.setup == "own token":
        owner = person or world.people["maria"]  # nobody has no token; try Maria's
        values["token_id"] = accounts.create_api_token(acting_user=owner, name="mine")[0].pk
    elif call.setup == "Sara's token":
        values["token_id"] = values["sara_token"]
    elif call.setup == "quarantined mail":
        raw = b"From: someone@acme.example\r\nSubject: held\r\n\r\nheld back\r\n"
        values["raw_id"] = RawMessage.objects.create(
            dedupe_key="held", raw=raw, size=len(raw), source="api", status="quarantined"
        ).pk
    elif call.setup == "shared macro":
        values["macro_id"] = CannedResponse.objects.create(
            title="Floor",
            body="Which floor, {{ requester.first_name }}?",
            status="pending_customer",
        ).pk
    elif call.setup == "own macro":
        owner = person or world.people["alice"]  # nobody has none; try Alice's
        values["macro_id"] = CannedResponse.objects.create(owner=owner, title="Mine", body="Hi").pk
    elif call.setup == "Sara's macro":
        values["macro_id"] = values["sara_macro"]
    elif call.setup == "failed job":
        values["job_id"] = Job.objects.create(
            name="mail.process_pending", status=JobStatus.FAILED, last_error="boom"
        ).pk
    return values


def _send(client, call: Call, values: dict[str, int]):
    path = call.path.format(**values)
    if call.upload:
        return client.client.post(
            f"/api/v1{path}",
            {"file": SimpleUploadedFile("notes.txt", b"hello")},
            headers=client.headers,
        )
    if call.method == "GET":
        return client.get(path)
    if call.method == "DELETE":
        return client.delete(path)
    body = {
        key: values[value[1:-1]] if isinstance(value, str) and value.startswith("{") else value
        for key, value in (call.body or {}).items()
    }
    return getattr(client, call.method.lower())(path, body)


def _operations() -> set[tuple[str, str]]:
    spec = ninja_api.get_openapi_schema()
    return {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in spec["paths"].items()
        for method in operations
    }


def test_the_matrix_covers_every_operation_of_the_api():
    """A new endpoint fails here until the matrix says who may call it."""
    assert {(call.method, call.path) for call in REQUESTS.values()} == _operations()
    assert set(REQUESTS) == set(EXPECTED)
    assert all(len(row) == len(PEOPLE) for row in EXPECTED.values())


CASES = [
    pytest.param(action, person, status, id=f"{action} - {person}")
    for action, row in EXPECTED.items()
    for person, status in zip(PEOPLE, row, strict=True)
]


@pytest.mark.parametrize(("action", "person", "status"), CASES)
def test_permission_matrix(api, world, action, person, status):
    call = REQUESTS[action]
    user = world.people[person]
    values = _prepare(call, world, user)
    response = _send(api(user), call, values)
    assert response.status_code == status, response.content
    if status >= 400:
        assert response.json()["detail"]


# -- what the allowed see ------------------------------------------------------------


@pytest.mark.parametrize("person", PEOPLE[1:])
def test_the_list_shows_the_ticket_exactly_to_those_who_may_read_it(api, world, person):
    response = api(world.people[person]).get("/tickets")
    numbers = [item["number"] for item in response.json()["items"]]
    may_read = EXPECTED["read the ticket"][PEOPLE.index(person)] == 200
    assert (world.ticket.number in numbers) == may_read


def test_a_requester_reads_the_conversation_without_internal_messages_or_files(api, world):
    client = api(world.people["maria"])
    number = world.ticket.number
    messages = client.get(f"/tickets/{number}/messages").json()
    files = client.get(f"/tickets/{number}/attachments").json()
    assert [m["kind"] for m in messages] == ["reply", "reply"]
    assert not any(m["internal"] or "INTERNAL" in m["body_text"] for m in messages)
    assert [f["id"] for f in files] == [world.public_file.pk]
    assert not [f for m in messages for f in m["attachments"] if f["internal"]]
    download = client.get(f"/tickets/{number}/attachments/{world.public_file.pk}")
    assert b"".join(download.streaming_content) == b"PUBLIC-FILE"
    assert b"INTERNAL" not in client.get(f"/tickets/{number}").content


@pytest.mark.parametrize("person", ["alice", "carol", "ada"])
def test_agents_read_the_whole_conversation(api, world, person):
    client = api(world.people[person])
    number = world.ticket.number
    messages = client.get(f"/tickets/{number}/messages").json()
    files = client.get(f"/tickets/{number}/attachments").json()
    assert [m["kind"] for m in messages] == ["reply", "reply", "note", "call"]
    assert [m["internal"] for m in messages] == [False, False, True, True]
    assert {f["id"] for f in files} == {world.public_file.pk, world.internal_file.pk}


def test_a_requester_cannot_reach_an_internal_note_by_its_id(api, world):
    """Attaching to a message: an internal note is answered as if it did not exist."""
    client = api(world.people["maria"])
    number = world.ticket.number

    def attach_to(message_id: int):
        return client.client.post(
            f"/api/v1/tickets/{number}/attachments",
            {"file": SimpleUploadedFile("a.txt", b"hi"), "message_id": message_id},
        )

    internal = attach_to(world.note.pk)
    absent = attach_to(999_999)
    assert internal.status_code == absent.status_code == 422
    assert internal.json()["detail"] == absent.json()["detail"].replace(
        "999999", str(world.note.pk)
    )
    assert not world.note.attachments.exists()


def test_a_file_is_reached_only_through_its_own_ticket(api, world, pedro, make_ticket):
    """Maria's ticket number with the id of a file on Pedro's ticket: 404."""
    pedros = make_ticket(requester=pedro)
    his_file = _attach(pedros, pedro, "globex.txt", b"GLOBEX")
    response = api(world.people["maria"]).get(
        f"/tickets/{world.ticket.number}/attachments/{his_file.pk}"
    )
    assert response.status_code == 404
    assert b"GLOBEX" not in response.content


# -- requesters: their own tickets, their organization's when trusted ---------------


@pytest.mark.parametrize(
    ("who", "arrangement", "status"),
    [
        pytest.param("marco", "", 404, id="a colleague does not see it"),
        pytest.param("marco", "watches", 200, id="a colleague watching it sees it"),
        pytest.param("marco", "trusted", 200, id="a colleague trusted with Acme's sees it"),
        pytest.param("pedro", "watches", 404, id="another organization's watcher does not"),
        pytest.param("pedro", "trusted", 404, id="another organization's trusted one does not"),
    ],
)
def test_who_else_sees_a_requesters_ticket(api, world, ada, who, arrangement, status):
    person = world.people[who]
    if arrangement == "watches":
        services.update_ticket(world.ticket, acting_user=ada, watchers=[person])
    elif arrangement == "trusted":
        User.objects.filter(pk=person.pk).update(sees_organization_tickets=True)
        person.refresh_from_db()
    client = api(person)
    number = world.ticket.number
    assert client.get(f"/tickets/{number}").status_code == status
    listed = [item["number"] for item in client.get("/tickets").json()["items"]]
    assert (number in listed) == (status == 200)
    if status == 200:
        texts = [m["body_text"] for m in client.get(f"/tickets/{number}/messages").json()]
        assert not any("INTERNAL" in text for text in texts)
        download = client.get(f"/tickets/{number}/attachments/{world.internal_file.pk}")
        assert download.status_code == 404


# -- agents: their teams' tickets, their own, and those no team owns ----------------


@pytest.mark.parametrize(
    ("team", "assigned_to_bob", "status"),
    [
        pytest.param("L2", False, 200, id="his team's ticket"),
        pytest.param(None, False, 200, id="a ticket no team owns"),
        pytest.param("L1", True, 200, id="another team's ticket still assigned to him"),
        pytest.param("L1", False, 404, id="another team's ticket"),
        pytest.param("L3", False, 404, id="a higher tier's ticket"),
    ],
)
def test_which_tickets_an_agent_sees(
    api, bob, alice, maria, teams, make_ticket, team, assigned_to_bob, status
):
    if assigned_to_bob:
        # He took it while on the Service Desk, then moved to Infrastructure only.
        teams["L1"].members.add(bob)
    ticket = make_ticket(
        acting_user=alice,
        requester=maria,
        team=teams[team] if team else None,
        assignee=bob if assigned_to_bob else None,
    )
    teams["L1"].members.remove(bob)
    client = api(bob)
    assert client.get(f"/tickets/{ticket.number}").status_code == status
    listed = [item["number"] for item in client.get("/tickets").json()["items"]]
    assert (ticket.number in listed) == (status == 200)
    note = client.post(f"/tickets/{ticket.number}/messages", {"kind": "note", "body": "Seen"})
    assert note.status_code == (201 if status == 200 else 404)


def test_an_agent_cannot_merge_into_a_ticket_outside_his_queues(
    api, alice, maria, teams, make_ticket
):
    mine = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    theirs = make_ticket(acting_user=alice, requester=maria, team=teams["L3"])
    response = api(alice).post(f"/tickets/{mine.number}/merge", {"into": theirs.number})
    assert response.status_code == 404
    assert response.json()["detail"] == f"Ticket #{theirs.number} not found."
    mine.refresh_from_db()
    assert mine.merged_into_id is None
