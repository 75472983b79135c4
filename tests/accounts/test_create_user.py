"""Accounts are unique by username and by address, both ignoring case."""

from __future__ import annotations

import pytest

from soporte.accounts import services as accounts
from soporte.accounts.models import Role, Tier, User
from soporte.lib.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


def test_a_taken_username_or_address_is_refused_by_name_whatever_the_case():
    accounts.create_user(acting_user=None, username="Carol", email="carol@acme.example")
    with pytest.raises(Conflict, match="username CAROL is taken"):
        accounts.create_user(acting_user=None, username="CAROL", email="new@acme.example")
    with pytest.raises(Conflict, match="carol@acme.example"):
        accounts.create_user(acting_user=None, username="carol2", email="Carol@ACME.example")
    # Both taken: the username is what is said first.
    with pytest.raises(Conflict, match="username carol is taken"):
        accounts.create_user(acting_user=None, username="carol", email="carol@acme.example")
    assert list(User.objects.values_list("username", flat=True)) == ["Carol"]


def test_free_names_and_addresses_make_an_account_and_no_address_is_no_conflict():
    first = accounts.create_user(acting_user=None, username="dan", email="")
    second = accounts.create_user(acting_user=None, username="erin", email="")
    assert {first.email, second.email} == {""}
    assert User.objects.count() == 2


def test_roles_and_tiers_are_read_whatever_the_case_and_unknown_ones_refused_by_name():
    agent = accounts.create_user(acting_user=None, username="ana", role="Agent", tier="l2")
    assert (agent.role, agent.tier) == (Role.AGENT, Tier.L2)
    with pytest.raises(InvalidInput, match="Unknown tier 'L9'"):
        accounts.create_user(acting_user=None, username="bo", role="agent", tier="L9")
    with pytest.raises(InvalidInput, match="Unknown role 'boss'"):
        accounts.create_user(acting_user=None, username="bo", role="boss")
    assert not User.objects.filter(username="bo").exists()
