"""A local stand-in for the trackers: an http.server on 127.0.0.1 in a thread, answering
each tracker's documented create/read requests (and checking their authentication), and
factories for problems and trackers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from soporte.problems import services
from soporte.problems.models import Tracker

TOKEN = "tok-123"
SECRET = "hook-secret"
JIRA_USER = "dev@example.org"


@dataclass
class Seen:
    method: str
    path: str
    headers: Any  # email.message.Message: names match in any case
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class FakeTrackers:
    url: str
    requests: list[Seen] = field(default_factory=list)
    # Statuses to answer the next POSTs with before answering normally (503, 404...).
    failures: list[int] = field(default_factory=list)
    # Issue states the GET endpoints report, by key.
    states: dict[str, str] = field(default_factory=dict)
    next_number: int = 41

    def posts(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST"]


def _handler(fake: FakeTrackers):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _answer(self, status: int, payload=None):
            body = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _seen(self) -> Seen:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, self.headers, self.rfile.read(length))
            fake.requests.append(seen)
            return seen

        def do_POST(self):
            seen = self._seen()
            if fake.failures:
                status = fake.failures.pop(0)
                return self._answer(status, {"message": f"failure {status}"})
            auth = seen.headers.get("Authorization", "")
            fake.next_number += 1
            number = fake.next_number
            if re.fullmatch(r"/repos/[^/]+/[^/]+/issues", seen.path):
                if auth != f"Bearer {TOKEN}":
                    return self._answer(401, {"message": "Bad credentials"})
                return self._answer(
                    201, {"number": number, "html_url": f"https://gh.example/i/{number}"}
                )
            if re.fullmatch(r"/api/v4/projects/[^/]+/issues", seen.path):
                if seen.headers.get("PRIVATE-TOKEN") != TOKEN:
                    return self._answer(401, {"message": "401 Unauthorized"})
                return self._answer(
                    201, {"iid": number, "web_url": f"https://gl.example/i/{number}"}
                )
            if re.fullmatch(r"/rest/api/[23]/issue", seen.path):
                expected = base64.b64encode(f"{JIRA_USER}:{TOKEN}".encode()).decode()
                if auth != f"Basic {expected}":
                    return self._answer(401, {"errorMessages": ["Unauthorized"]})
                key = f"DEV-{number}"
                return self._answer(
                    201, {"id": str(10000 + number), "key": key, "self": f"{fake.url}/x/{key}"}
                )
            if seen.path == "/hook":
                signed = "sha256=" + hmac.new(TOKEN.encode(), seen.body, hashlib.sha256).hexdigest()
                if seen.headers.get("X-Soporte-Signature") != signed:
                    return self._answer(403, {"error": "bad signature"})
                return self._answer(200, {"key": f"HOOK-{number}", "url": "https://hook.example/b"})
            return self._answer(404, {"message": "Not Found"})

        def do_GET(self):
            seen = self._seen()
            match = re.search(r"/issues?/([^/?]+)", seen.path)
            key = match.group(1) if match else ""
            state = fake.states.get(key)
            if state is None:
                return self._answer(404, {"message": "Not Found"})
            if "/rest/api/" in seen.path:
                category = "done" if state == "closed" else "indeterminate"
                return self._answer(
                    200, {"key": key, "fields": {"status": {"statusCategory": {"key": category}}}}
                )
            return self._answer(200, {"state": state})

    return Handler


@pytest.fixture
def fake_trackers():
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    fake = FakeTrackers(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch):
    monkeypatch.setenv("PROBLEMS_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("PROBLEMS_TEST_SECRET", SECRET)


@pytest.fixture
def make_tracker(db, fake_trackers):
    def make(kind: str = "github", **overrides) -> Tracker:
        defaults = {
            "github": {"project": "acme/app"},
            "gitlab": {"project": "acme/app"},
            "jira": {"project": "DEV", "username": JIRA_USER},
            "webhook": {"base_url": fake_trackers.url + "/hook"},
        }[kind]
        values = {
            "name": f"{kind} tracker",
            "kind": kind,
            "base_url": fake_trackers.url,
            "token_env": "PROBLEMS_TEST_TOKEN",
            "secret_env": "PROBLEMS_TEST_SECRET",
            **defaults,
            **overrides,
        }
        return Tracker.objects.create(**values)

    return make


@pytest.fixture
def make_problem(alice):
    def make(**overrides):
        overrides.setdefault("acting_user", alice)
        overrides.setdefault("title", "Printers print blank pages")
        return services.create_problem(**overrides)

    return make


@pytest.fixture
def types_laptop(ada):
    """An asset (a laptop) to mark as affected."""
    from soporte.assets import services as assets
    from soporte.assets.defaults import ensure_default_types
    from soporte.assets.models import AssetType

    ensure_default_types()
    return assets.create_asset(
        acting_user=ada, tag="NB-1", type=AssetType.objects.get(name="Laptop")
    )
