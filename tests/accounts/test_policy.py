"""Who sees what: policy.visible_tickets (lists) and policy.can_view (one ticket) agree.

Maria and Marco request for Acme; Lena leads Acme's IT and follows all its tickets;
Pedro (Globex) never sees Acme's; Nora belongs to no organization. Alice serves L1,
Bob L2, Sara L3; Tom is an agent in no team yet; Carol supervises; Ada administers.
"""

from __future__ import annotations

import io
from itertools import cycle, product

import pytest
from django.contrib.auth.models import AnonymousUser

from soporte.accounts import policy
from soporte.accounts.models import Role, Tier
from soporte.lib.errors import NotFound, PermissionDenied
from soporte.tickets import services
from soporte.tickets.models import Ticket
from tests.conftest import make_user


@pytest.fixture
def lena(acme):
    return make_user("lena", organization=acme, sees_organization_tickets=True)


@pytest.fixture
def nora(db):
    return make_user("nora")


@pytest.fixture
def tom(teams):
    return make_user("tom", Role.AGENT, tier=Tier.L1)


def place(ticket: Ticket, *, team=None, assignee=None) -> Ticket:
    """Put a ticket in a queue directly (set-up only: services check membership)."""
    Ticket.objects.filter(pk=ticket.pk).update(team=team, assignee=assignee)
    return Ticket.objects.get(pk=ticket.pk)


def numbers(tickets) -> set[int]:
    return {t.number for t in tickets}


@pytest.fixture
def world(make_ticket, teams, carol, maria, marco, pedro, nora, lena, alice, bob, sara, tom):
    """One ticket for each situation the rules distinguish, by name."""
    t = {}
    t["maria_own"] = make_ticket(requester=maria)
    t["maria_l1"] = place(make_ticket(requester=maria), team=teams["L1"])
    t["marco_l2"] = place(make_ticket(requester=marco), team=teams["L2"])
    t["marco_watched_by_maria"] = place(
        make_ticket(acting_user=carol, requester=marco, watchers=[maria]), team=teams["L3"]
    )
    t["pedro_l1"] = place(make_ticket(requester=pedro), team=teams["L1"])
    # Pedro watching an Acme ticket still does not let him see it.
    t["acme_watched_by_pedro"] = place(
        make_ticket(acting_user=carol, requester=marco, watchers=[pedro]), team=teams["L2"]
    )
    t["nora_own"] = make_ticket(requester=nora)
    t["l3_assigned_to_bob"] = place(make_ticket(requester=pedro), team=teams["L3"], assignee=bob)
    t["l3_assigned_to_tom"] = place(make_ticket(requester=nora), team=teams["L3"], assignee=tom)
    return {name: Ticket.objects.get(pk=ticket.pk) for name, ticket in t.items()}


EXPECTED = {
    "maria": {"maria_own", "maria_l1", "marco_watched_by_maria"},
    "marco": {"marco_l2", "marco_watched_by_maria", "acme_watched_by_pedro"},
    "lena": {"maria_own", "maria_l1", "marco_l2", "marco_watched_by_maria",
             "acme_watched_by_pedro"},
    "pedro": {"pedro_l1", "l3_assigned_to_bob"},
    "nora": {"nora_own", "l3_assigned_to_tom"},
    "alice": {"maria_own", "nora_own", "maria_l1", "pedro_l1"},
    "bob": {"maria_own", "nora_own", "marco_l2", "acme_watched_by_pedro", "l3_assigned_to_bob"},
    "sara": {"maria_own", "nora_own", "marco_watched_by_maria", "l3_assigned_to_bob",
             "l3_assigned_to_tom"},
    "tom": {"maria_own", "nora_own", "l3_assigned_to_tom"},
}  # fmt: skip


@pytest.mark.parametrize("who", list(EXPECTED))
def test_each_person_sees_exactly_their_tickets(who, world, request):
    user = request.getfixturevalue(who)
    expected = {world[name].number for name in EXPECTED[who]}
    assert numbers(policy.visible_tickets(user)) == expected
    for name, ticket in world.items():
        assert policy.can_view(user, ticket) is (name in EXPECTED[who]), name


@pytest.mark.parametrize("who", ["carol", "ada"])
def test_supervisors_and_admins_see_every_ticket(who, world, request):
    user = request.getfixturevalue(who)
    assert numbers(policy.visible_tickets(user)) == numbers(world.values())
    assert all(policy.can_view(user, ticket) for ticket in world.values())


@pytest.mark.parametrize("who", ["alice", "carol", "maria", "lena"])
def test_a_disabled_account_sees_nothing(who, world, request):
    user = request.getfixturevalue(who)
    user.is_active = False
    user.save()
    assert not policy.visible_tickets(user).exists()
    assert not any(policy.can_view(user, ticket) for ticket in world.values())


def test_an_anonymous_visitor_sees_nothing(world):
    nobody = AnonymousUser()
    assert not policy.visible_tickets(nobody).exists()
    assert not any(policy.can_view(nobody, ticket) for ticket in world.values())


def test_a_requester_never_sees_another_organizations_tickets(world, pedro, maria, lena):
    acme_tickets = Ticket.objects.filter(organization=maria.organization)
    assert acme_tickets.exists()
    assert not policy.visible_tickets(pedro).filter(pk__in=acme_tickets).exists()
    globex_tickets = Ticket.objects.filter(organization=pedro.organization)
    assert not policy.visible_tickets(lena).filter(pk__in=globex_tickets).exists()


def test_a_ticket_watched_by_several_people_is_listed_once(make_ticket, carol, marco, maria, lena):
    make_ticket(acting_user=carol, requester=marco, watchers=[maria, lena])
    assert policy.visible_tickets(maria).count() == 1
    assert len(policy.visible_tickets(maria)) == 1


def test_a_hidden_ticket_looks_absent(world, pedro):
    hidden = world["maria_own"]
    with pytest.raises(NotFound) as hidden_error:
        policy.get_visible_ticket(pedro, hidden.number)
    with pytest.raises(NotFound) as absent_error:
        policy.get_visible_ticket(pedro, 999_999)
    assert type(hidden_error.value) is type(absent_error.value)
    with pytest.raises(NotFound):
        policy.require_view(pedro, hidden)
    assert policy.get_visible_ticket(pedro, world["pedro_l1"].number) == world["pedro_l1"]


def test_only_agents_who_see_a_ticket_may_work_it(world, alice, bob, maria):
    policy.require_work(alice, world["maria_l1"])
    with pytest.raises(PermissionDenied):
        policy.require_work(maria, world["maria_l1"])
    with pytest.raises(NotFound):
        policy.require_work(bob, world["maria_l1"])


# -- the property: can_view agrees with visible_tickets everywhere ----------------------


@pytest.fixture
def mixed(make_ticket, teams, carol, maria, marco, pedro, nora, lena, alice, bob, sara, tom):
    """Every requester x team x assignee, with watchers cycling through the people."""
    watcher_sets = cycle([[], [maria], [pedro], [lena, marco], [nora], [maria, pedro]])
    for requester, team, assignee in product(
        [maria, marco, pedro, nora, lena],
        [None, teams["L1"], teams["L2"], teams["L3"]],
        [None, alice, bob, sara, tom],
    ):
        ticket = make_ticket(acting_user=carol, requester=requester, watchers=next(watcher_sets))
        place(ticket, team=team, assignee=assignee)
    return list(Ticket.objects.all())


def test_can_view_agrees_with_visible_tickets_for_every_pair(mixed, request, ada, carol):
    people = [
        request.getfixturevalue(name)
        for name in ("maria", "marco", "pedro", "nora", "lena", "alice", "bob", "sara", "tom")
    ] + [carol, ada]
    retired = make_user("retired", Role.AGENT, tier=Tier.L1)
    retired.is_active = False
    retired.save()
    people += [retired, AnonymousUser()]
    assert len(mixed) == 100
    for user in people:
        visible = set(policy.visible_tickets(user).values_list("pk", flat=True))
        for ticket in mixed:
            assert policy.can_view(user, ticket) == (ticket.pk in visible), (user, ticket)


# -- messages and attachments ---------------------------------------------------------


@pytest.fixture
def conversation(ticket, alice, maria):
    services.reply(ticket, acting_user=alice, body="Public answer")
    services.add_note(ticket, acting_user=alice, body="Internal: the fuser is worn")
    services.log_call(ticket, acting_user=alice, body="Internal call")
    services.log_call(ticket, acting_user=alice, body="Shared call", internal=False)
    for internal_user in (alice, maria):
        services.add_attachment(
            ticket, acting_user=internal_user, upload=io.BytesIO(b"log"), filename="log.txt",
            size=3,
        )  # fmt: skip
    return Ticket.objects.get(pk=ticket.pk)


@pytest.mark.parametrize("who", ["maria", "lena"])
def test_requesters_never_get_internal_messages(conversation, who, request):
    user = request.getfixturevalue(who)
    messages = policy.visible_messages(user, conversation)
    assert [m.body_text for m in messages] == [
        "The printer on floor 2 jams on every page.",
        "Public answer",
        "Shared call",
    ]
    assert not any(m.internal for m in messages)
    attachments = policy.visible_attachments(user, conversation)
    assert [a.uploaded_by_id for a in attachments] == [conversation.requester_id]
    assert not any(a.internal for a in attachments)


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_agents_get_the_whole_conversation(conversation, who, request):
    user = request.getfixturevalue(who)
    assert policy.visible_messages(user, conversation).count() == 5
    assert policy.visible_messages(user, conversation).filter(internal=True).count() == 2
    assert policy.visible_attachments(user, conversation).count() == 2


def test_internal_notes_stay_internal_after_a_merge(conversation, make_ticket, alice, maria):
    target = make_ticket()
    services.merge(conversation, into=target, acting_user=alice)
    target = Ticket.objects.get(pk=target.pk)
    assert policy.visible_messages(alice, target).filter(internal=True).count() == 2
    assert not policy.visible_messages(maria, target).filter(internal=True).exists()
    assert not policy.visible_attachments(maria, target).filter(internal=True).exists()
