"""Macros: canned responses with placeholders that also change the ticket, in one step.

Alice (L1) and Bob (L2) are agents, Sara (L3) keeps personal macros of her own, Carol
supervises and manages the shared ones; Maria of Acme requested the ticket.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from soporte.mail.models import OutboundKind, OutboundMail
from soporte.tickets import macros, services, workspace
from soporte.tickets.models import (
    CannedResponse,
    EventKind,
    Level,
    MacroAssign,
    MacroKind,
    Message,
    MessageKind,
    Priority,
    Status,
    TicketEvent,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def make_macro(carol):
    """A shared macro made by Carol unless `acting_user` says otherwise."""

    def make(**fields) -> CannedResponse:
        fields.setdefault("acting_user", carol)
        fields.setdefault("title", "Ask for the model")
        fields.setdefault("body", "Which printer model is it?")
        fields.setdefault("shared", fields["acting_user"] == carol)
        return workspace.create_macro(**fields)

    return make


@pytest.fixture
def l1_ticket(make_ticket, alice, maria, teams):
    return make_ticket(acting_user=alice, requester=maria, team=teams["L1"])


def macro_events(ticket) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("id"))


# -- rendering ------------------------------------------------------------------------


@pytest.fixture
def values(alice, maria, acme, make_ticket, settings):
    settings.SITE_URL = "https://help.example"
    maria.last_name = "García"
    maria.save(update_fields=["last_name"])
    alice.last_name = "Liddell"
    alice.save(update_fields=["last_name"])
    ticket = make_ticket(subject="VPN drops", impact=Level.HIGH, urgency=Level.MEDIUM)
    ticket.refresh_from_db()
    return ticket, macros.values_for(ticket, agent=alice, language="en")


@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("ticket.number", "{number}"),
        ("ticket.subject", "VPN drops"),
        ("ticket.status", "New"),
        ("ticket.priority", "P2 - high"),
        ("ticket.url", "https://help.example/portal/tickets/{number}/"),
        ("requester.first_name", "Maria"),
        ("requester.last_name", "García"),
        ("requester.name", "Maria García"),
        ("requester.email", "maria@example.org"),
        ("agent.first_name", "Alice"),
        ("agent.name", "Alice Liddell"),
        ("organization.name", "Acme"),
    ],
)
def test_each_placeholder_renders_its_value(values, placeholder, expected):
    ticket, known = values
    rendered = macros.render(f"<{{{{ {placeholder} }}}}>", known)
    assert rendered.text == "<" + expected.format(number=ticket.number) + ">"
    assert rendered.unknown == []


def test_every_placeholder_has_a_value_and_a_test():
    """The whitelist, the values and the parametrized test above name the same things."""
    assert set(macros.PLACEHOLDERS) == {
        "ticket.number", "ticket.subject", "ticket.status", "ticket.priority", "ticket.url",
        "requester.first_name", "requester.last_name", "requester.name", "requester.email",
        "agent.first_name", "agent.name", "organization.name",
    }  # fmt: skip


@pytest.mark.parametrize(
    "typed", ["{{ticket.number}}", "{{   ticket.number\t}}", "{{ ticket.number }}"]
)
def test_spaces_inside_the_braces_do_not_matter(values, typed):
    ticket, known = values
    assert macros.render(f"Ticket {typed}.", known).text == f"Ticket {ticket.number}."


def test_an_unknown_placeholder_stays_as_typed_and_is_reported(values):
    _ticket, known = values
    rendered = macros.render(
        "Hi {{ requester.first_name }}, {{ ticket.colour }} {{ticket.colour}}", known
    )
    assert rendered.text == "Hi Maria, {{ ticket.colour }} {{ticket.colour}}"
    assert rendered.unknown == ["{{ ticket.colour }}", "{{ticket.colour}}"]


@pytest.mark.parametrize(
    "typed",
    [
        "{{ requester.password }}",
        "{{ ticket.requester.password }}",
        "{{ requester.__class__ }}",
        "{{ ticket.subject|upper }}",
        "{{ agent.get_full_name }}",
        "{{ requester }}",
        "{{ settings.SECRET_KEY }}",
        "{{ }}",
    ],
)
def test_nothing_beyond_the_whitelist_is_reached(values, typed):
    _ticket, known = values
    rendered = macros.render(f"x {typed} y", known)
    assert rendered.text == f"x {typed} y"
    assert rendered.unknown == [typed]
    assert "argon2" not in rendered.text


def test_template_tags_are_plain_text(values):
    _ticket, known = values
    text = "{% load static %}{% debug %}{{ ticket.number"
    assert macros.render(text, known).text == text


def test_a_value_that_looks_like_a_placeholder_is_not_expanded_again(alice, make_ticket):
    ticket = make_ticket(subject="{{ requester.email }}")
    known = macros.values_for(ticket, agent=alice, language="en")
    assert macros.render("Re: {{ ticket.subject }}", known).text == "Re: {{ requester.email }}"


def test_the_status_is_in_the_requesters_language_for_a_public_reply(
    alice, maria, l1_ticket, make_macro
):
    maria.language = "es"
    maria.save(update_fields=["language"])
    macro = make_macro(body="Estado: {{ ticket.status }}", status=Status.PENDING_CUSTOMER)
    l1_ticket.refresh_from_db()

    result = services.apply_macro(l1_ticket, macro, acting_user=alice)

    assert result.message.body_text == "Estado: Pendiente del cliente"


def test_an_internal_note_uses_the_agents_language(alice, maria, l1_ticket, make_macro):
    maria.language = "es"
    maria.save(update_fields=["language"])
    macro = make_macro(body="Status: {{ ticket.status }}", kind=MacroKind.NOTE)
    result = services.apply_macro(l1_ticket, macro, acting_user=alice)
    assert result.message.body_text == "Status: New"


# -- saving macros --------------------------------------------------------------------


def test_an_agent_keeps_personal_macros(alice):
    macro = workspace.create_macro(acting_user=alice, title="Thanks", body="Thanks!")
    assert macro.owner == alice
    assert not macro.shared


@pytest.mark.parametrize("who", ["carol", "ada"])
def test_supervisors_and_admins_make_shared_macros(request, who):
    person = request.getfixturevalue(who)
    macro = workspace.create_macro(acting_user=person, title="Hi", body="Hi!", shared=True)
    assert macro.owner is None


def test_an_agent_cannot_make_a_shared_macro(alice):
    with pytest.raises(PermissionDenied):
        workspace.create_macro(acting_user=alice, title="Hi", body="Hi!", shared=True)
    assert not CannedResponse.objects.exists()


def test_a_requester_cannot_make_macros(maria):
    with pytest.raises(PermissionDenied):
        workspace.create_macro(acting_user=maria, title="Hi", body="Hi!")


@pytest.mark.parametrize("typed", ["{{ ticket.colour }}", "{{ requester.password }}"])
def test_saving_a_macro_with_an_unknown_placeholder_is_refused_naming_it(alice, typed):
    with pytest.raises(InvalidInput) as refused:
        workspace.create_macro(acting_user=alice, title="Hi", body=f"Hi {typed}")
    assert typed in refused.value.message
    assert "{{ requester.first_name }}" in refused.value.message  # what may be used
    assert not CannedResponse.objects.exists()


def test_changing_a_macro_text_to_an_unknown_placeholder_is_refused(alice, make_macro):
    macro = make_macro(acting_user=alice, body="Hi")
    with pytest.raises(InvalidInput):
        workspace.update_macro(macro, acting_user=alice, body="{{ requester.password }}")
    macro.refresh_from_db()
    assert macro.body == "Hi"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": " "}, "title"),
        ({"body": ""}, "a text or at least one change"),
        ({"assign": MacroAssign.AGENT}, "Choose the agent"),
        ({"status": Status.RESOLVED, "kind": MacroKind.NOTE}, "needs a public reply"),
        ({"status": Status.CLOSED}, "not a valid choice"),
        ({"impact": "huge"}, "not a valid choice"),
        ({"tags": ["x" * 51]}, "longer than 50"),
    ],
)
def test_a_macro_that_makes_no_sense_is_refused(alice, fields, message):
    fields = {"title": "Macro", "body": "Text", **fields}
    with pytest.raises(InvalidInput, match=message):
        workspace.create_macro(acting_user=alice, **fields)


def test_a_macro_assigns_only_to_an_agent_of_the_team_it_moves_to(alice, bob, teams):
    with pytest.raises(InvalidInput, match="not a member"):
        workspace.create_macro(
            acting_user=alice, title="To L1", team=teams["L1"],
            assign=MacroAssign.AGENT, assignee=bob,
        )  # fmt: skip


def test_an_agent_cannot_change_or_delete_a_shared_macro(alice, make_macro):
    macro = make_macro(body="Shared text")
    with pytest.raises(PermissionDenied):
        workspace.update_macro(macro, acting_user=alice, body="Mine now")
    with pytest.raises(PermissionDenied):
        workspace.delete_macro(macro, acting_user=alice)
    macro.refresh_from_db()
    assert macro.body == "Shared text"


def test_nobody_else_changes_a_personal_macro_not_even_an_admin(sara, alice, ada, make_macro):
    macro = make_macro(acting_user=sara, body="Sara's")
    for person in (alice, ada):
        with pytest.raises(NotFound):
            workspace.get_macro(person, macro.pk)
        with pytest.raises(NotFound):
            workspace.update_macro(macro, acting_user=person, body="Changed")
        with pytest.raises(NotFound):
            workspace.delete_macro(macro, acting_user=person)
    assert CannedResponse.objects.get(pk=macro.pk).body == "Sara's"


def test_an_agent_cannot_share_a_personal_macro_but_a_supervisor_can(alice, carol, make_macro):
    mine = make_macro(acting_user=alice, body="Mine")
    with pytest.raises(PermissionDenied):
        workspace.update_macro(mine, acting_user=alice, shared=True)
    hers = make_macro(acting_user=carol, shared=False, body="Hers")
    workspace.update_macro(hers, acting_user=carol, shared=True)
    assert CannedResponse.objects.get(pk=hers.pk).owner is None


def test_an_agent_lists_the_shared_macros_and_their_own(alice, sara, make_macro):
    shared = make_macro(title="Shared")
    mine = make_macro(acting_user=alice, title="Mine", body="x")
    make_macro(acting_user=sara, title="Sara's", body="x")
    assert list(workspace.canned_responses(alice)) == [mine, shared]


# -- applying -------------------------------------------------------------------------


def test_applying_posts_the_reply_and_changes_the_fields_in_one_step(
    alice, maria, l1_ticket, make_macro, teams
):
    # given
    services.update_ticket(l1_ticket, acting_user=alice, tags=["printer"])
    macro = make_macro(
        body="Hello {{ requester.first_name }}, ticket #{{ ticket.number }} is "
        "{{ ticket.status }} at {{ ticket.priority }}.",
        status=Status.PENDING_CUSTOMER,
        impact=Level.HIGH,
        urgency=Level.HIGH,
        assign=MacroAssign.ME,
        tags=["Waiting", "printer"],
    )
    before = l1_ticket.version

    # when
    result = services.apply_macro(l1_ticket, macro, acting_user=alice, expected_version=before)

    # then
    l1_ticket.refresh_from_db()
    assert result.message.kind == MessageKind.REPLY and not result.message.internal
    assert result.message.body_text == (
        f"Hello Maria, ticket #{l1_ticket.number} is Pending customer at P1 - critical."
    )
    assert l1_ticket.status == Status.PENDING_CUSTOMER
    assert (l1_ticket.impact, l1_ticket.urgency) == (Level.HIGH, Level.HIGH)
    assert l1_ticket.priority == Priority.P1  # the matrix
    assert l1_ticket.assignee == alice
    assert sorted(l1_ticket.tags.values_list("name", flat=True)) == ["printer", "waiting"]
    assert l1_ticket.first_responded_at is not None
    assert l1_ticket.version > before


def test_every_event_of_the_step_names_the_macro(alice, l1_ticket, make_macro):
    macro = make_macro(
        title="Waiting on you", body="Could you restart it?",
        status=Status.PENDING_CUSTOMER, urgency=Level.LOW,
    )  # fmt: skip
    first_new = TicketEvent.objects.filter(ticket=l1_ticket).order_by("-id").first().pk

    services.apply_macro(l1_ticket, macro, acting_user=alice)

    events = TicketEvent.objects.filter(ticket=l1_ticket, pk__gt=first_new).order_by("id")
    kinds = [(e.kind, e.field) for e in events]
    assert kinds == [
        (EventKind.MACRO_APPLIED, ""),
        (EventKind.STATUS_CHANGED, "status"),
        (EventKind.REPLIED, ""),
        (EventKind.UPDATED, "urgency"),
        (EventKind.UPDATED, "priority"),
    ]
    applied = events[0]
    assert applied.new == "Waiting on you"
    assert all(e.actor == alice for e in events)
    assert all(
        e.data["macro"] == macro.pk and e.data["macro_title"] == "Waiting on you" for e in events
    )
    assert TicketEvent.objects.filter(kind=EventKind.MACRO_APPLIED).count() == 1


def test_a_macro_that_resolves_takes_its_reply_as_the_resolution(alice, l1_ticket, make_macro):
    macro = make_macro(body="Fixed: new toner for {{ organization.name }}.", status=Status.RESOLVED)
    services.apply_macro(l1_ticket, macro, acting_user=alice)
    l1_ticket.refresh_from_db()
    assert l1_ticket.status == Status.RESOLVED
    assert l1_ticket.resolution == "Fixed: new toner for Acme."
    assert l1_ticket.messages.filter(body_text=l1_ticket.resolution, internal=False).exists()


def test_a_note_macro_with_a_status_posts_the_note_then_sets_the_status(
    alice, l1_ticket, make_macro
):
    macro = make_macro(
        body="Waiting on the vendor.", kind=MacroKind.NOTE, status=Status.PENDING_THIRD_PARTY
    )
    result = services.apply_macro(l1_ticket, macro, acting_user=alice)
    l1_ticket.refresh_from_db()
    assert result.message.kind == MessageKind.NOTE and result.message.internal
    assert l1_ticket.status == Status.PENDING_THIRD_PARTY
    assert l1_ticket.first_responded_at is None  # a note is no response


def test_a_macro_without_text_only_changes_fields(carol, bob, l1_ticket, make_macro, teams):
    macro = make_macro(
        body="", team=teams["L2"], assign=MacroAssign.AGENT, assignee=bob, tags=["network"]
    )
    messages_before = l1_ticket.messages.count()

    result = services.apply_macro(l1_ticket, macro, acting_user=carol)

    l1_ticket.refresh_from_db()
    assert result.message is None
    assert l1_ticket.messages.count() == messages_before
    assert (l1_ticket.team, l1_ticket.assignee) == (teams["L2"], bob)
    assert l1_ticket.status == Status.OPEN  # assigned, so no longer new


def test_an_agent_cannot_assign_in_a_team_they_do_not_serve(
    alice, sara, l1_ticket, make_macro, teams
):
    macro = make_macro(body="", team=teams["L3"], assign=MacroAssign.AGENT, assignee=sara)
    with pytest.raises(PermissionDenied, match="Applications L3"):
        services.apply_macro(l1_ticket, macro, acting_user=alice)
    l1_ticket.refresh_from_db()
    assert l1_ticket.team == teams["L1"] and l1_ticket.assignee is None


def test_someone_elses_personal_macro_cannot_be_applied(alice, sara, l1_ticket, make_macro):
    macro = make_macro(acting_user=sara, body="Sara's own words")
    with pytest.raises(NotFound):
        services.apply_macro(l1_ticket, macro, acting_user=alice)
    assert not l1_ticket.messages.filter(body_text="Sara's own words").exists()


def test_an_agent_who_cannot_work_the_ticket_cannot_apply_a_macro(bob, l1_ticket, make_macro):
    with pytest.raises(NotFound):
        services.apply_macro(l1_ticket, make_macro(body="Hi"), acting_user=bob)


def test_a_requester_cannot_apply_a_macro(maria, l1_ticket, make_macro):
    with pytest.raises(PermissionDenied):
        services.apply_macro(l1_ticket, make_macro(body="Hi"), acting_user=maria)


def test_a_stale_version_applies_nothing(alice, carol, l1_ticket, make_macro):
    # given: Alice loaded the ticket, then Carol added a note
    macro = make_macro(body="Please reboot.", status=Status.PENDING_CUSTOMER, tags=["reboot"])
    seen = l1_ticket.version
    services.add_note(l1_ticket, acting_user=carol, body="Carol was here.")
    events_before = TicketEvent.objects.filter(ticket=l1_ticket).count()

    # when
    stale = services.policy.get_visible_ticket(alice, l1_ticket.number)
    with pytest.raises(Conflict):
        services.apply_macro(stale, macro, acting_user=alice, expected_version=seen)

    # then
    l1_ticket.refresh_from_db()
    assert l1_ticket.status == Status.NEW
    assert not l1_ticket.messages.filter(body_text="Please reboot.").exists()
    assert not l1_ticket.tags.exists()
    assert TicketEvent.objects.filter(ticket=l1_ticket).count() == events_before


def test_a_part_that_fails_rolls_back_the_whole_macro(alice, l1_ticket, make_macro):
    """Pending customer is no move from resolved: the reply is not posted either."""
    services.resolve(l1_ticket, acting_user=alice, resolution="Done.")
    macro = make_macro(body="Still there?", status=Status.PENDING_CUSTOMER)
    events_before = TicketEvent.objects.filter(ticket=l1_ticket).count()
    with pytest.raises(Conflict):
        services.apply_macro(l1_ticket, macro, acting_user=alice)
    assert not Message.objects.filter(body_text="Still there?").exists()
    assert TicketEvent.objects.filter(ticket=l1_ticket).count() == events_before


def test_an_internal_note_macro_never_mails_the_requester(
    alice, l1_ticket, make_macro, django_capture_on_commit_callbacks
):
    note = make_macro(title="Note", body="Vendor says {{ requester.email }}", kind=MacroKind.NOTE)
    with django_capture_on_commit_callbacks(execute=True):
        services.apply_macro(l1_ticket, note, acting_user=alice)
    assert not OutboundMail.objects.filter(ticket=l1_ticket).exists()

    # while the same text as a public reply does
    reply = make_macro(title="Reply", body="We are on it.")
    with django_capture_on_commit_callbacks(execute=True):
        services.apply_macro(l1_ticket, reply, acting_user=alice)
    [sent] = OutboundMail.objects.filter(ticket=l1_ticket)
    assert (sent.kind, sent.to) == (OutboundKind.REPLY, ["maria@example.org"])
    assert sent.message.body_text == "We are on it."


def test_an_old_canned_response_with_text_only_still_works(alice, l1_ticket):
    """Made before macros (no kind chosen, no changes): inserted in the composer as text,
    and applied as a public reply."""
    old = CannedResponse.objects.create(title="Thanks", body="Thanks, {{ requester.first_name }}!")
    page = client_for(alice).get(f"/desk/tickets/{l1_ticket.number}/")
    assert b'<option value="Thanks, Maria!">Thanks</option>' in page.content
    result = services.apply_macro(l1_ticket, old, acting_user=alice)
    assert result.message.body_text == "Thanks, Maria!"
    assert result.message.kind == MessageKind.REPLY


def test_a_macro_saved_before_the_check_reports_its_unknown_placeholder(alice, l1_ticket):
    old = CannedResponse.objects.create(title="Old", body="Hi {{ requester.nickname }}")
    result = services.apply_macro(l1_ticket, old, acting_user=alice)
    assert result.message.body_text == "Hi {{ requester.nickname }}"
    assert result.unknown_placeholders == ["{{ requester.nickname }}"]


# -- the API --------------------------------------------------------------------------


def test_the_api_lists_shared_macros_and_the_callers_own(api, alice, sara, make_macro, teams):
    make_macro(title="Escalate to L2", body="", team=teams["L2"], tags=["network"])
    make_macro(acting_user=alice, title="Mine", body="Hi {{ requester.first_name }}")
    make_macro(acting_user=sara, title="Sara's", body="Hers")

    response = api(alice).get("/macros")

    assert response.status_code == 200
    shared, mine = response.json()
    assert (shared["title"], shared["shared"], shared["owner"]) == ("Escalate to L2", True, None)
    assert shared["team"]["name"] == "Infrastructure L2" and shared["tags"] == ["network"]
    assert (shared["status"], shared["assign"], shared["kind"]) == (None, None, "reply")
    assert (mine["title"], mine["shared"], mine["owner"]["id"]) == ("Mine", False, alice.pk)


def test_the_api_refuses_an_unknown_placeholder_with_422_naming_it(api, alice):
    response = api(alice).post(
        "/macros", {"title": "Leak", "body": "Your password: {{ requester.password }}"}
    )
    assert response.status_code == 422
    assert "{{ requester.password }}" in response.json()["detail"]
    assert not CannedResponse.objects.exists()


def test_the_api_creates_changes_and_deletes_a_macro(api, alice, bob, teams):
    client = api(alice)
    created = client.post(
        "/macros",
        {"title": "Vendor", "body": "Asked the vendor.", "kind": "note",
         "status": "pending_third_party", "assign": "me", "tags": ["Vendor"]},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["status"], body["assign"], body["tags"]) == (
        "note", "pending_third_party", "me", ["vendor"],
    )  # fmt: skip

    changed = client.patch(f"/macros/{body['id']}", {"status": None, "impact": "high"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["status"], changed.json()["impact"]) == (None, "high")
    assert changed.json()["body"] == "Asked the vendor."

    deleted = client.delete(f"/macros/{body['id']}")
    assert deleted.status_code == 204
    assert not CannedResponse.objects.exists()


def test_the_api_applies_a_macro_and_answers_with_the_ticket_and_message(
    api, alice, l1_ticket, make_macro
):
    macro = make_macro(body="Hi {{ requester.first_name }}", status=Status.PENDING_CUSTOMER)
    response = api(alice).post(
        f"/tickets/{l1_ticket.number}/macros/{macro.pk}/apply", {"version": l1_ticket.version}
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["ticket"]["status"] == "pending_customer"
    assert data["message"]["body_text"] == "Hi Maria"
    assert data["unknown_placeholders"] == []


def test_the_api_answers_409_to_a_stale_version_and_applies_nothing(
    api, alice, carol, l1_ticket, make_macro
):
    macro = make_macro(body="Hi", status=Status.PENDING_CUSTOMER)
    seen = l1_ticket.version
    services.add_note(l1_ticket, acting_user=carol, body="meanwhile")
    response = api(alice).post(
        f"/tickets/{l1_ticket.number}/macros/{macro.pk}/apply", {"version": seen}
    )
    assert response.status_code == 409
    l1_ticket.refresh_from_db()
    assert l1_ticket.status == Status.NEW
    assert not TicketEvent.objects.filter(kind=EventKind.MACRO_APPLIED).exists()


def test_the_api_hides_someone_elses_personal_macro(api, alice, sara, l1_ticket, make_macro):
    macro = make_macro(acting_user=sara, body="Sara's")
    client = api(alice)
    assert client.post(f"/tickets/{l1_ticket.number}/macros/{macro.pk}/apply").status_code == 404
    assert client.patch(f"/macros/{macro.pk}", {"title": "Mine"}).status_code == 404
    assert client.delete(f"/macros/{macro.pk}").status_code == 404


# -- the pages ------------------------------------------------------------------------


def test_the_ticket_page_applies_a_macro_in_one_click(alice, l1_ticket, make_macro):
    macro = make_macro(
        title="Need the model", body="Which model, {{ requester.first_name }}?",
        status=Status.PENDING_CUSTOMER,
    )  # fmt: skip
    client = client_for(alice)
    page = client.get(f"/desk/tickets/{l1_ticket.number}/")
    assert f'<option value="{macro.pk}">Need the model</option>'.encode() in page.content

    response = client.post(
        f"/desk/tickets/{l1_ticket.number}/macro/",
        {"macro": macro.pk, "version": l1_ticket.version},
        follow=True,
    )

    assert response.redirect_chain == [(f"/desk/tickets/{l1_ticket.number}/", 302)]
    assert b"Which model, Maria?" in response.content
    assert b"Macro Need the model applied." in response.content
    l1_ticket.refresh_from_db()
    assert l1_ticket.status == Status.PENDING_CUSTOMER


def test_a_stale_apply_on_the_page_answers_409(alice, carol, l1_ticket, make_macro):
    macro = make_macro(body="Hi")
    seen = l1_ticket.version
    services.add_note(l1_ticket, acting_user=carol, body="meanwhile")
    response = client_for(alice).post(
        f"/desk/tickets/{l1_ticket.number}/macro/", {"macro": macro.pk, "version": seen}
    )
    assert response.status_code == 409
    assert b"changed by someone else" in response.content


def test_the_preview_shows_the_text_and_the_changes(alice, l1_ticket, make_macro, teams):
    macro = make_macro(body="<b>Hi</b> {{ requester.first_name }}", team=teams["L2"])
    response = client_for(alice).get(
        f"/desk/tickets/{l1_ticket.number}/macro/preview/?macro={macro.pk}",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert b"&lt;b&gt;Hi&lt;/b&gt; Maria" in response.content  # text, escaped
    assert b"Team: Infrastructure L2" in response.content


def test_the_ticket_page_runs_the_same_queries_for_1_or_10_macros(
    alice, bob, l1_ticket, make_macro, teams
):
    client = client_for(alice)
    make_macro(title="m0", body="Hi {{ requester.name }}")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/desk/tickets/{l1_ticket.number}/").status_code == 200
        return len(captured)

    few = queries()
    for i in range(9):
        make_macro(title=f"m{i + 1}", body="x", team=teams["L2"], assign="agent", assignee=bob)
    assert queries() == few


def test_an_agent_creates_a_personal_macro_on_the_macros_page(alice):
    client = client_for(alice)
    page = client.get("/desk/macros/")
    assert page.status_code == 200
    assert b'name="shared"' not in page.content  # only supervisors share

    response = client.post(
        "/desk/macros/",
        {"title": "Reboot", "body": "Please reboot, {{ requester.first_name }}.",
         "kind": "reply", "status": "pending_customer", "tags": "reboot, Basics"},
        follow=True,
    )  # fmt: skip

    assert b"Macro Reboot saved." in response.content
    macro = CannedResponse.objects.get()
    assert (macro.owner, macro.status, macro.add_tags) == (
        alice, Status.PENDING_CUSTOMER, ["reboot", "basics"],
    )  # fmt: skip


def test_the_macros_page_explains_an_unknown_placeholder(alice):
    response = client_for(alice).post(
        "/desk/macros/", {"title": "Leak", "body": "{{ requester.password }}", "kind": "reply"}
    )
    assert response.status_code == 422
    assert b"Unknown placeholder {{ requester.password }}" in response.content
    assert not CannedResponse.objects.exists()


def test_a_supervisor_edits_a_shared_macro_and_an_agent_may_not(alice, carol, make_macro):
    macro = make_macro(body="Old text")
    assert client_for(alice).get(f"/desk/macros/{macro.pk}/").status_code == 403
    response = client_for(carol).post(
        f"/desk/macros/{macro.pk}/",
        {"title": "New title", "body": "New text", "kind": "reply", "shared": "on"},
    )
    assert response.status_code == 302
    macro.refresh_from_db()
    assert (macro.title, macro.body, macro.owner) == ("New title", "New text", None)


def test_an_agent_deletes_their_macro_from_the_page(alice, make_macro):
    macro = make_macro(acting_user=alice, body="Mine")
    response = client_for(alice).post(f"/desk/macros/{macro.pk}/delete/")
    assert response.status_code == 302
    assert not CannedResponse.objects.exists()


def test_someone_elses_personal_macro_page_is_404(alice, sara, make_macro):
    macro = make_macro(acting_user=sara, body="Hers")
    assert client_for(alice).get(f"/desk/macros/{macro.pk}/").status_code == 404


@pytest.mark.parametrize("url", ["/desk/macros/", "/desk/macros/1/"])
def test_requesters_get_403_on_the_macro_pages(maria, url):
    assert client_for(maria).get(url).status_code == 403


def test_the_admin_applies_the_same_rules(ada):
    client = client_for(ada)
    base = {"title": "Leak", "kind": "reply", "add_tags": "[]"}
    refused = client.post(
        "/admin/tickets/cannedresponse/add/", {**base, "body": "{{ requester.password }}"}
    )
    assert refused.status_code == 200
    assert b"Unknown placeholder {{ requester.password }}" in refused.content
    saved = client.post(
        "/admin/tickets/cannedresponse/add/",
        {**base, "title": "Hi", "body": "Hi {{ requester.name }}", "add_tags": '["VPN"]'},
    )
    assert saved.status_code == 302
    assert CannedResponse.objects.get().add_tags == ["vpn"]
