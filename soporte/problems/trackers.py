"""Talking to development trackers: create a bug, read its state, and check and read the
status webhooks they send back. One adapter per kind, over stdlib urllib with a timeout.

- GitHub Issues: POST {base}/repos/{owner}/{repo}/issues -> 201 {number, html_url};
  `Authorization: Bearer`; webhooks signed in X-Hub-Signature-256 (sha256=<hex HMAC>).
- GitLab Issues: POST {base}/api/v4/projects/{id}/issues -> 201 {iid, web_url};
  `PRIVATE-TOKEN`; webhooks carry the shared secret in X-Gitlab-Token.
- Jira: POST {base}/rest/api/{2|3}/issue -> 201 {id, key, self}; Basic (email:token) or
  Bearer; webhooks carry the shared secret in X-Soporte-Token or `?secret=`.
- Generic webhook: POST {base} with the JSON report, signed in X-Soporte-Signature
  (sha256=<hex HMAC-SHA256 of the body>); status comes back signed the same way.

Errors: TrackerUnavailable (network, timeout, 429 and 5xx: worth another attempt) and
TrackerRefused (any other 4xx, a bad answer, missing configuration: not).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from .models import BugState, Tracker, TrackerKind

TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 1_000_000
USER_AGENT = "Soporte help desk"
SIGNATURE_HEADER = "X-Soporte-Signature"
TOKEN_HEADER = "X-Soporte-Token"
# States a tracker reports for a fixed bug.
FIXED_WORDS = frozenset({"closed", "close", "resolved", "done", "fixed"})


class TrackerError(Exception):
    """The tracker did not take the request; the message is fit for an agent to read."""


class TrackerUnavailable(TrackerError):
    """A network error, a timeout, 429 or 5xx: worth another attempt later."""


class TrackerRefused(TrackerError):
    """A 4xx answer, an answer that makes no sense, or missing configuration."""


class SignatureMissing(Exception):
    """A webhook without the signature or token its tracker sends (401)."""


class SignatureInvalid(Exception):
    """A webhook whose signature or token does not match (403)."""


class MalformedWebhook(Exception):
    """A signed webhook whose body is not what the tracker sends (4xx)."""


@dataclass(frozen=True)
class CreatedBug:
    key: str
    url: str


@dataclass(frozen=True)
class BugUpdate:
    """What a status webhook says about one bug."""

    key: str
    state: str  # BugState.OPEN or BugState.FIXED


@dataclass(frozen=True)
class Report:
    """The bug as it is filed: a title and a plain-text body, and the problem's facts for
    the generic webhook."""

    title: str
    body: str
    problem_id: int
    problem_url: str
    status: str
    tickets: list[int]


def secret(name: str, what: str) -> str:
    """The value of the environment variable named `name`; TrackerRefused when unnamed
    or unset (the message names the variable, never a value)."""
    name = (name or "").strip()
    if not name:
        raise TrackerRefused(
            _("No environment variable is named for the %(what)s.") % {"what": what}
        )
    value = os.environ.get(name)
    if not value:
        raise TrackerRefused(
            _("The environment variable %(name)s holding the %(what)s is not set.")
            % {"name": name, "what": what}
        )
    return value


def sign(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


# -- HTTP ------------------------------------------------------------------------------


def _request(
    method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
) -> tuple[int, Any]:
    """Send one request; (status, parsed JSON answer or None)."""
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - admin's URL
    request.add_header("User-Agent", USER_AGENT)
    request.add_header("Accept", "application/json")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            status = answer.status
            raw = answer.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        detail = _error_detail(error)
        message = _("The tracker answered %(status)s: %(detail)s") % {
            "status": error.code,
            "detail": detail,
        }
        if error.code >= 500 or error.code == 429:
            raise TrackerUnavailable(message) from None
        raise TrackerRefused(message) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise TrackerUnavailable(
            _("The tracker could not be reached: %(reason)s") % {"reason": reason}
        ) from None
    except ValueError as error:  # a malformed URL
        raise TrackerRefused(
            _("The tracker's URL is not valid: %(error)s") % {"error": error}
        ) from None
    if not raw.strip():
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def _error_detail(error: urllib.error.HTTPError) -> str:
    try:
        raw = error.read(2000)
    except OSError:
        return error.reason or ""
    text = raw.decode("utf-8", "replace").strip()
    return text[:300] or str(error.reason or "")


def _field(answer: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(answer, dict):
            return None
        answer = answer.get(name)
    return answer


def _refused_answer(what: str) -> TrackerRefused:
    return TrackerRefused(
        _("The tracker's answer has no %(what)s; check its URL and project.") % {"what": what}
    )


# -- adapters --------------------------------------------------------------------------


class Adapter:
    def __init__(self, tracker: Tracker):
        self.tracker = tracker
        self.base = tracker.base_url.rstrip("/")

    def create(self, report: Report) -> CreatedBug:
        raise NotImplementedError

    def state(self, key: str) -> str | None:
        """The bug's state (BugState.OPEN or FIXED), or None when this tracker cannot be
        asked (the generic webhook)."""
        return None

    def _token(self) -> str:
        return secret(self.tracker.token_env, _("API token"))


class GitHub(Adapter):
    def _repo(self) -> str:
        owner, _sep, repo = self.tracker.project.strip().partition("/")
        if not owner or not repo or "/" in repo:
            raise TrackerRefused(_("A GitHub tracker needs its repository as owner/repo."))
        return f"{quote(owner, safe='')}/{quote(repo, safe='')}"

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def create(self, report: Report) -> CreatedBug:
        body = json.dumps({"title": report.title, "body": report.body}).encode()
        url = f"{self.base}/repos/{self._repo()}/issues"
        _status, answer = _request("POST", url, headers=self._headers(), body=body)
        number, link = _field(answer, "number"), _field(answer, "html_url")
        if number is None or not isinstance(link, str):
            raise _refused_answer("number")
        return CreatedBug(str(number), link)

    def state(self, key: str) -> str | None:
        url = f"{self.base}/repos/{self._repo()}/issues/{quote(key, safe='')}"
        _status, answer = _request("GET", url, headers=self._headers())
        return _state_word(_field(answer, "state"))


class GitLab(Adapter):
    def _project(self) -> str:
        project = self.tracker.project.strip()
        if not project:
            raise TrackerRefused(_("A GitLab tracker needs its project id or path."))
        return quote(project, safe="")

    def _headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self._token()}

    def create(self, report: Report) -> CreatedBug:
        body = json.dumps({"title": report.title, "description": report.body}).encode()
        url = f"{self.base}/api/v4/projects/{self._project()}/issues"
        _status, answer = _request("POST", url, headers=self._headers(), body=body)
        iid, link = _field(answer, "iid"), _field(answer, "web_url")
        if iid is None or not isinstance(link, str):
            raise _refused_answer("iid")
        return CreatedBug(str(iid), link)

    def state(self, key: str) -> str | None:
        url = f"{self.base}/api/v4/projects/{self._project()}/issues/{quote(key, safe='')}"
        _status, answer = _request("GET", url, headers=self._headers())
        return _state_word(_field(answer, "state"))


class Jira(Adapter):
    def _headers(self) -> dict[str, str]:
        token = self._token()
        if self.tracker.username:
            pair = f"{self.tracker.username}:{token}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {"Authorization": f"Bearer {token}"}

    def _api(self) -> str:
        return f"{self.base}/rest/api/{self.tracker.jira_api_version or '2'}"

    def _description(self, text: str) -> Any:
        if self.tracker.jira_api_version != "3":
            return text
        # v3 takes Atlassian Document Format: one paragraph per block of text.
        paragraphs = [part for part in text.split("\n\n") if part.strip()] or [" "]
        return {
            "type": "doc",
            "version": 1,
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": part}]}
                for part in paragraphs
            ],
        }

    def create(self, report: Report) -> CreatedBug:
        project = self.tracker.project.strip()
        if not project:
            raise TrackerRefused(_("A Jira tracker needs its project key."))
        fields = {
            "project": {"key": project},
            "summary": report.title[:255],
            "description": self._description(report.body),
            "issuetype": {"name": self.tracker.issue_type or "Bug"},
        }
        body = json.dumps({"fields": fields}).encode()
        _status, answer = _request(
            "POST", f"{self._api()}/issue", headers=self._headers(), body=body
        )
        key = _field(answer, "key")
        if not isinstance(key, str) or not key:
            raise _refused_answer("key")
        return CreatedBug(key, f"{self.base}/browse/{quote(key, safe='')}")

    def state(self, key: str) -> str | None:
        url = f"{self._api()}/issue/{quote(key, safe='')}?fields=status,resolution"
        _status, answer = _request("GET", url, headers=self._headers())
        return jira_state(_field(answer, "fields"))


class Webhook(Adapter):
    def create(self, report: Report) -> CreatedBug:
        key = secret(self.tracker.token_env, _("signing secret"))
        payload = {
            "event": "bug.reported",
            "problem": {
                "id": report.problem_id,
                "title": report.title,
                "description": report.body,
                "status": report.status,
                "url": report.problem_url,
            },
            "tickets": report.tickets,
        }
        body = json.dumps(payload).encode()
        headers = {SIGNATURE_HEADER: sign(key, body), "X-Soporte-Event": "bug.reported"}
        _status, answer = _request("POST", self.base, headers=headers, body=body)
        bug_key = _field(answer, "key")
        link = _field(answer, "url")
        return CreatedBug(
            str(bug_key) if bug_key not in (None, "") else f"problem-{report.problem_id}",
            link if isinstance(link, str) and link.startswith(("https://", "http://")) else "",
        )


ADAPTERS: dict[str, type[Adapter]] = {
    TrackerKind.GITHUB: GitHub,
    TrackerKind.GITLAB: GitLab,
    TrackerKind.JIRA: Jira,
    TrackerKind.WEBHOOK: Webhook,
}


def adapter(tracker: Tracker) -> Adapter:
    return ADAPTERS[tracker.kind](tracker)


def _state_word(word: Any) -> str | None:
    if not isinstance(word, str):
        return None
    return BugState.FIXED if word.lower() in FIXED_WORDS else BugState.OPEN


def jira_state(fields: Any) -> str | None:
    """Done when the status's category is "done" (or the issue has a resolution)."""
    if not isinstance(fields, dict):
        return None
    category = _field(fields, "status", "statusCategory", "key")
    if isinstance(category, str):
        return BugState.FIXED if category.lower() == "done" else BugState.OPEN
    name = _field(fields, "status", "name")
    if isinstance(name, str):
        return _state_word(name)
    return BugState.FIXED if fields.get("resolution") else None


# -- incoming status webhooks ----------------------------------------------------------


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def verify(tracker: Tracker, headers: Mapping[str, str], query: Mapping[str, str], body: bytes):
    """Check a webhook's signature or token against the tracker's secret.

    Raises SignatureMissing (no signature sent), SignatureInvalid (wrong one), or
    TrackerRefused (the secret's variable is not set: nothing can be checked)."""
    if tracker.kind == TrackerKind.GITHUB:
        given = headers.get("X-Hub-Signature-256", "")
    elif tracker.kind == TrackerKind.GITLAB:
        given = headers.get("X-Gitlab-Token", "")
    elif tracker.kind == TrackerKind.JIRA:
        given = headers.get(TOKEN_HEADER, "") or query.get("secret", "")
    else:
        given = headers.get(SIGNATURE_HEADER, "")
    if not given:
        raise SignatureMissing
    key = secret(tracker.secret_env, _("webhook secret"))
    signed = tracker.kind in (TrackerKind.GITHUB, TrackerKind.WEBHOOK)
    expected = sign(key, body) if signed else key
    if not _same(given, expected):
        raise SignatureInvalid


def parse_webhook(tracker: Tracker, headers: Mapping[str, str], body: bytes) -> list[BugUpdate]:
    """The bug states a verified webhook reports (none for events about other things,
    like GitHub's ping). MalformedWebhook when the body is not what the tracker sends."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise MalformedWebhook(_("The body is not JSON.")) from None
    if not isinstance(payload, dict):
        raise MalformedWebhook(_("The body is not a JSON object."))
    if tracker.kind == TrackerKind.GITHUB:
        event = headers.get("X-GitHub-Event", "issues")
        if event != "issues":
            return []
        issue = payload.get("issue")
        repo = _field(payload, "repository", "full_name")
        project = tracker.project.strip().lower()
        if isinstance(repo, str) and project and repo.lower() != project:
            return []  # another repository's issue with the same number
        key, state = _field(issue, "number"), _state_word(_field(issue, "state"))
    elif tracker.kind == TrackerKind.GITLAB:
        if payload.get("object_kind") not in ("issue", None):
            return []
        project = tracker.project.strip().lower()
        named = {
            str(_field(payload, "project", "id")),
            str(_field(payload, "project", "path_with_namespace")).lower(),
        }
        if project and payload.get("project") is not None and project not in named:
            return []  # another project's issue with the same number
        attributes = payload.get("object_attributes")
        key, state = _field(attributes, "iid"), _state_word(_field(attributes, "state"))
    elif tracker.kind == TrackerKind.JIRA:
        issue = payload.get("issue")
        project = _field(issue, "fields", "project", "key")
        if isinstance(project, str) and tracker.project.strip() and project != tracker.project:
            return []
        key, state = _field(issue, "key"), jira_state(_field(issue, "fields"))
    else:
        key, state = payload.get("key"), _state_word(payload.get("state"))
    if isinstance(key, bool) or not isinstance(key, str | int) or state is None:
        raise MalformedWebhook(_("The body does not say which bug and in what state."))
    key = str(key).strip()
    if not key or len(key) > 100 or "\x00" in key:
        raise MalformedWebhook(_("The bug's key is missing or too long."))
    return [BugUpdate(key, state)]
