"""Strict readers for SOPORTE_* variables: a bad value names the variable and stops."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soporte.lib.env import EnvError, envbool, envint, envlist, envstr


def test_envstr_returns_the_value_or_the_default():
    assert envstr("SOPORTE_X", "fallback", environ={}) == "fallback"
    assert envstr("SOPORTE_X", "fallback", environ={"SOPORTE_X": "value"}) == "value"


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "Yes", "on", " on "])
def test_envbool_reads_true_words(raw):
    assert envbool("SOPORTE_DEBUG", False, environ={"SOPORTE_DEBUG": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "OFF", "", "  "])
def test_envbool_reads_false_words(raw):
    assert envbool("SOPORTE_DEBUG", True, environ={"SOPORTE_DEBUG": raw}) is False


def test_envbool_falls_back_to_the_default_when_unset():
    assert envbool("SOPORTE_DEBUG", True, environ={}) is True
    assert envbool("SOPORTE_DEBUG", False, environ={}) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "t", "enabled", "yes please"])
def test_envbool_refuses_anything_else_naming_the_variable(raw):
    with pytest.raises(EnvError) as error:
        envbool("SOPORTE_DEBUG", environ={"SOPORTE_DEBUG": raw})
    assert "SOPORTE_DEBUG" in str(error.value)
    assert repr(raw) in str(error.value)


def test_env_errors_are_value_errors():
    assert issubclass(EnvError, ValueError)


def test_envint_reads_whole_numbers():
    assert envint("SOPORTE_N", 5, environ={"SOPORTE_N": "42"}) == 42
    assert envint("SOPORTE_N", 5, environ={"SOPORTE_N": " -3 "}) == -3


@pytest.mark.parametrize("environ", [{}, {"SOPORTE_N": ""}, {"SOPORTE_N": "   "}])
def test_envint_falls_back_to_the_default_when_unset_or_empty(environ):
    assert envint("SOPORTE_N", 7, environ=environ) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "1e3", "0x10", "12abc"])
def test_envint_refuses_what_is_not_a_whole_number(raw):
    with pytest.raises(EnvError, match="SOPORTE_N must be a whole number"):
        envint("SOPORTE_N", 5, environ={"SOPORTE_N": raw})


def test_envint_refuses_values_below_the_minimum():
    with pytest.raises(EnvError, match="SOPORTE_N must be at least 1, not 0"):
        envint("SOPORTE_N", 5, minimum=1, environ={"SOPORTE_N": "0"})
    assert envint("SOPORTE_N", 5, minimum=1, environ={"SOPORTE_N": "1"}) == 1


def test_envlist_splits_on_commas_and_drops_blanks():
    environ = {"SOPORTE_HOSTS": " a.example , b.example,, ,c"}
    assert envlist("SOPORTE_HOSTS", [], environ=environ) == ["a.example", "b.example", "c"]
    assert envlist("SOPORTE_HOSTS", [], environ={"SOPORTE_HOSTS": ""}) == []


def test_envlist_returns_a_copy_of_the_default():
    default = ["localhost"]
    value = envlist("SOPORTE_HOSTS", default, environ={})
    assert value == default
    value.append("other")
    assert default == ["localhost"]


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_envint_round_trips_any_integer(number):
    assert envint("SOPORTE_N", 0, environ={"SOPORTE_N": str(number)}) == number


@given(st.text())
def test_envbool_either_answers_a_bool_or_raises_env_error(raw):
    try:
        value = envbool("SOPORTE_FLAG", environ={"SOPORTE_FLAG": raw})
    except EnvError:
        return
    assert isinstance(value, bool)
