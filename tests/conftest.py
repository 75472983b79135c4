"""Named people and factories shared by every test.

Alice is an L1 agent of the Service Desk; Bob, her L2 colleague in Infrastructure;
Carol supervises; Ada administers. Maria requests for Acme, Marco is her colleague
at Acme, and Pedro works for Globex and should have no access to Acme's tickets.
"""

from __future__ import annotations

import json
import os
from itertools import count

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client

from soporte.accounts import services as accounts
from soporte.accounts.models import Organization, Role, Team, Tier, User
from soporte.tickets import services
from soporte.tickets.models import Category, Ticket

_serial = count(1)


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with the least work: the production parameters cost about 0.35 s of CPU a
    hash, and many tests set or check a password (tests/accounts/test_sign_in.py keeps
    the real parameters where it checks them)."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1


# Process-wide, before any request handler exists: the cheap hasher, and WhiteNoise
# looking files up per request instead of scanning every static file whenever a test
# client loads the middleware (about 10 ms a client).
django_settings.PASSWORD_HASHERS = [
    f"{__name__}.QuickArgon2PasswordHasher",
    *django_settings.PASSWORD_HASHERS,  # to check what other sites hashed (imports)
]
django_settings.WHITENOISE_AUTOREFRESH = True
# Sessions in memory: a database session costs a few queries at every sign-in and request
# (about a tenth of a client's sign-in), and no test reads the sessions table. Their own
# cache, never culled, so that no test's session is dropped under it.
django_settings.CACHES = {
    **django_settings.CACHES,
    "sessions": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "test-sessions",
        "OPTIONS": {"MAX_ENTRIES": 10_000_000},
    },
}
django_settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
django_settings.SESSION_CACHE_ALIAS = "sessions"
# Processes the tests start (workers, servers) run without the sentence model too.
os.environ["SOPORTE_SEMANTIC"] = "off"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _jobs_run_after_commit(settings):
    """Background jobs run right after the commit, in the test's process."""
    settings.JOBS_MODE = "eager"


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches (the system account, SLA policies and rules, mailboxes) must
    not carry rows of a test whose transaction rolled back into the next one."""
    from soporte.accounts.services import forget_system_user
    from soporte.mail.outbound import forget_mailboxes
    from soporte.sla.services import forget_cached

    def forget() -> None:
        forget_system_user()
        forget_mailboxes()
        forget_cached()

    forget()
    yield
    forget()


@pytest.fixture(autouse=True)
def _sentence_model_only_where_asked(request, monkeypatch):
    """Without soporte[semantic]'s model unless a test is marked ``semantic``: with it,
    every ticket a test opens is embedded at intake (about 15% more CPU for the suite)."""
    from soporte.search import semantic

    if request.node.get_closest_marker("semantic") is None:
        monkeypatch.setattr(semantic, "_model", {"model": None})
    else:
        monkeypatch.setattr(django_settings, "SEMANTIC", True)


@pytest.fixture
def without_semantic(monkeypatch):
    """The process as it is without soporte[semantic], in a test marked ``semantic``."""
    from soporte.search import semantic

    monkeypatch.setattr(semantic, "_model", {"model": None})


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs what the block schedules on commit (and what that
    schedules in turn, jobs included), as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(autouse=True)
def _english_between_tests():
    """Django's LocaleMiddleware leaves the request's language active in the thread."""
    yield
    from django.utils import translation

    translation.deactivate()


def make_user(username: str, role: str = Role.REQUESTER, **overrides) -> User:
    return accounts.create_user(
        acting_user=None,
        username=username,
        email=overrides.pop("email", f"{username}@example.org"),
        role=role,
        first_name=overrides.pop("first_name", username.title()),
        **overrides,
    )


@pytest.fixture
def acme(db) -> Organization:
    org = Organization.objects.create(name="Acme")
    accounts.set_domains(org, ["acme.example"])
    return org


@pytest.fixture
def globex(db) -> Organization:
    return Organization.objects.create(name="Globex")


@pytest.fixture
def teams(db) -> dict[str, Team]:
    l3 = Team.objects.create(name="Applications L3", tier=Tier.L3)
    l2 = Team.objects.create(name="Infrastructure L2", tier=Tier.L2, escalation_team=l3)
    l1 = Team.objects.create(name="Service Desk L1", tier=Tier.L1, escalation_team=l2)
    return {"L1": l1, "L2": l2, "L3": l3}


@pytest.fixture
def alice(teams) -> User:
    user = make_user("alice", Role.AGENT, tier=Tier.L1)
    teams["L1"].members.add(user)
    return user


@pytest.fixture
def bob(teams) -> User:
    user = make_user("bob", Role.AGENT, tier=Tier.L2)
    teams["L2"].members.add(user)
    return user


@pytest.fixture
def sara(teams) -> User:
    user = make_user("sara", Role.AGENT, tier=Tier.L3)
    teams["L3"].members.add(user)
    return user


@pytest.fixture
def carol(db) -> User:
    return make_user("carol", Role.SUPERVISOR)


@pytest.fixture
def ada(db) -> User:
    return make_user("ada", Role.ADMIN)


@pytest.fixture
def maria(acme) -> User:
    return make_user("maria", organization=acme)


@pytest.fixture
def marco(acme) -> User:
    return make_user("marco", organization=acme)


@pytest.fixture
def pedro(globex) -> User:
    return make_user("pedro", organization=globex)


@pytest.fixture
def category(db) -> Category:
    hardware = Category.objects.create(name="Hardware")
    return Category.objects.create(name="Printers", parent=hardware)


@pytest.fixture
def make_ticket(maria):
    """Open a ticket through the service; keyword overrides go to open_ticket."""

    def make(**overrides) -> Ticket:
        overrides.setdefault("acting_user", overrides.get("requester") or maria)
        overrides.setdefault("subject", f"Printer jam {next(_serial)}")
        overrides.setdefault("body", "The printer on floor 2 jams on every page.")
        return services.open_ticket(**overrides)

    return make


@pytest.fixture
def ticket(make_ticket) -> Ticket:
    return make_ticket()


class Api:
    """The real test client against /api/v1, signed in as one person (or nobody)."""

    def __init__(self, user: User | None = None, token: str | None = None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            self.client.force_login(user)
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, data=None, **extra):
        url = "/api/v1" + path
        kwargs = {**self.headers, **extra}
        if data is not None and method != "get":
            return getattr(self.client, method)(
                url, json.dumps(data), content_type="application/json", headers=kwargs
            )
        return getattr(self.client, method)(url, data, headers=kwargs)

    def get(self, path, params=None, **extra):
        return self._call("get", path, params, **extra)

    def post(self, path, data=None, **extra):
        return self._call("post", path, data if data is not None else {}, **extra)

    def patch(self, path, data=None, **extra):
        return self._call("patch", path, data if data is not None else {}, **extra)

    def put(self, path, data=None, **extra):
        return self._call("put", path, data if data is not None else {}, **extra)

    def delete(self, path, **extra):
        return self._call("delete", path, **extra)


@pytest.fixture
def api():
    """api(user) -> an Api client signed in as that user; api() is anonymous."""
    return Api


# Fixtures through which a test reaches the database (pytest-django refuses it otherwise;
# django_db_blocker is not one: an autouse fixture of pytest-django takes it for every test).
_DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_setup", "live_server"})


# Files whose few tests run for long (servers, worker and backup subprocesses): seconds of one
# run under load (2026-11-26, `--junitxml`). pytest-xdist hands out whole files, by default
# the ones with most tests first, which left these at the end with one process idle for
# minutes; they go first, longest first, so the other process works through the many short
# files meanwhile.
_LONG_FILES = {
    "tests/ops/test_backup_restore.py": 252,
    "tests/api/test_permission_matrix.py": 164,
    "tests/jobs/test_worker_processes.py": 124,
    "tests/ops/test_health_metrics_logs.py": 99,
    "tests/tickets/test_services.py": 63,
    "tests/mail/test_processing.py": 63,
    "tests/ops/test_helpdesk_import.py": 59,
    "tests/sla/test_calendar.py": 48,
    "tests/triage/test_semantic.py": 38,
    "tests/api/test_ticket_list.py": 38,
    "tests/ops/test_schema_upgrade.py": 30,
}


def pytest_collection_modifyitems(config, items):
    """With SOPORTE_TESTS_DATABASE_ONLY=1 (`make test-postgres`), only the tests that reach
    the database run: the others (parsers, calendars, text, graphs) do the same on any
    database, and the SQLite run has run them already. Then the long files go first
    (the Makefile turns pytest-xdist's own ordering off)."""
    if os.environ.get("SOPORTE_TESTS_DATABASE_ONLY") == "1":
        keep, drop = [], []
        for item in items:
            reaches = _DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
            marked = item.get_closest_marker("django_db") or item.get_closest_marker("database")
            (keep if reaches or marked else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    sizes: dict[str, int] = {}
    for item in items:
        sizes[item.location[0]] = sizes.get(item.location[0], 0) + 1
    # Stable: a file's tests keep their order; the rest by number of tests, as xdist would.
    items.sort(key=lambda item: (-_LONG_FILES.get(item.location[0], 0), -sizes[item.location[0]]))
