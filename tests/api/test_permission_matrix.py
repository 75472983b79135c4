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

import copy
from dataclasses import dataclass, field
from itertools import count

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.test.client import ClientHandler

from soporte.accounts import services as accounts
from soporte.accounts.models import Organization, Role, Team, Tier, User
from soporte.api import api as ninja_api
from soporte.jobs.models import Job, JobStatus
from soporte.mail.models import RawMessage
from soporte.sla.models import BusinessCalendar, Rule, SlaPolicy
from soporte.tickets import services
from soporte.tickets.models import Attachment, CannedResponse, Category, Message, Ticket
from tests.conftest import Api, make_user

_serial = count(1)

RULE = {"name": "VIP", "trigger": "created", "actions": [{"type": "add_tag", "value": "vip"}]}
PLAN = {
    "name": "Laptop care",
    "rrule": "FREQ=MONTHLY;BYDAY=1MO",
    "starts_at": "2026-01-05T09:00:00Z",
    "asset_ids": ["{asset_id}"],
    "checklist": ["Clean"],
}
PORTS = {
    "a": {"asset_id": "{asset_id}", "port": "eth0"},
    "b": {"asset_id": "{outlet_id}", "port": "A"},
}
OFFICE = {
    "name": "Office",
    "time_zone": "Europe/Madrid",
    "hours": [{"weekday": 0, "starts": "09:00", "ends": "18:00"}],
}


FLOW_YAML = """slug: toner
title: Toner
nodes:
  - id: shake
    start: true
    solution: Shake the cartridge.
"""


TRIAGE_SETTINGS = {
    "enabled": True, "auto_apply_threshold": 0.8, "duplicate_hours": 24,
    "duplicate_similarity": 0.8, "storm_size": 5, "storm_minutes": 30, "storm_similarity": 0.3,
    "storm_by_category": True, "storm_auto_reply": False,
}  # fmt: skip


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
    # Knowledge base: requesters read published articles meant for them (the article is
    # Acme's, not Globex's) and never drafts; agents write; what readers see is changed
    # by supervisors and admins, or published by an agent who did not write it last.
    "list KB categories":               (401,  200,  200,  200,  200,  200,  200,  200),
    "create a KB category":             (401,  403,  403,  403,  403,  403,  201,  201),
    "add a KB section":                 (401,  403,  403,  403,  403,  403,  201,  201),
    "list articles":                    (401,  200,  200,  200,  200,  200,  200,  200),
    "write an article":                 (401,  403,  403,  403,  201,  201,  201,  201),
    "read an article for Acme":         (401,  200,  200,  404,  200,  200,  200,  200),
    "change a draft article":           (401,  404,  404,  404,  200,  200,  200,  200),
    "change a published article":       (401,  403,  403,  403,  403,  403,  200,  200),
    "submit a draft for review":        (401,  404,  404,  404,  200,  200,  200,  200),
    "publish Alice's article in review": (401, 404,  404,  404,  403,  200,  200,  200),
    "translate an article":             (401,  404,  404,  404,  201,  201,  201,  201),
    "list an article's versions":       (401,  404,  404,  404,  200,  200,  200,  200),
    "read an article's version":        (401,  404,  404,  404,  200,  200,  200,  200),
    "restore an article's version":     (401,  404,  404,  404,  200,  200,  200,  200),
    "mark Sara's article reviewed":     (401,  404,  404,  404,  403,  403,  200,  200),
    "say whether an article helped":    (401,  200,  200,  404,  200,  200,  200,  200),
    "export an article":                (401,  200,  200,  404,  200,  200,  200,  200),
    "list FAQ entries":                 (401,  200,  200,  200,  200,  200,  200,  200),
    "write a FAQ entry":                (401,  403,  403,  403,  201,  201,  201,  201),
    "change an unpublished FAQ entry":  (401,  404,  404,  404,  200,  200,  200,  200),
    "suggest articles":                 (401,  200,  200,  200,  200,  200,  200,  200),
    "write an article from the ticket": (401,  403,  404,  404,  201,  404,  201,  201),
    "mark the ticket solved with an article": (401, 403, 404, 404, 200, 404, 200, 200),
    "suggest articles for the ticket":  (401,  403,  404,  404,  200,  404,  200,  200),
    # Assets: agents (and up) see and change every asset; a requester reads only the
    # assets she owns (Maria's laptop), never another's (404), and changes none (403).
    # Admins manage the agent's enrollment tokens; the agent's door takes only those.
    "list assets":                      (401,  200,  200,  200,  200,  200,  200,  200),
    "record an asset":                  (401,  403,  403,  403,  201,  201,  201,  201),
    "read Maria's laptop":              (401,  200,  404,  404,  200,  200,  200,  200),
    "change Maria's laptop":            (401,  403,  404,  404,  200,  200,  200,  200),
    "read an asset's history":          (401,  403,  404,  404,  200,  200,  200,  200),
    "list an asset's tickets":          (401,  200,  404,  404,  200,  200,  200,  200),
    # Bob may change the laptop but does not see the ticket.
    "link the ticket to the laptop":    (401,  201,  404,  404,  201,  404,  201,  201),
    "unlink the ticket from the laptop": (401, 403,  404,  404,  204,  404,  204,  204),
    "list an asset's software":         (401,  200,  404,  404,  200,  200,  200,  200),
    "install software":                 (401,  403,  404,  404,  201,  201,  201,  201),
    "uninstall software":               (401,  403,  404,  404,  204,  204,  204,  204),
    "trace an asset's cabling":         (401,  403,  404,  404,  200,  200,  200,  200),
    "list asset types":                 (401,  200,  200,  200,  200,  200,  200,  200),
    "create an asset type":             (401,  403,  403,  403,  403,  403,  403,  201),
    "replace an asset type":            (401,  403,  403,  403,  403,  403,  403,  200),
    "export assets":                    (401,  403,  403,  403,  200,  200,  200,  200),
    "import a CSV file":                (401,  403,  403,  403,  202,  202,  202,  202),
    "follow an import":                 (401,  403,  403,  403,  200,  200,  200,  200),
    "report inventory without an enrollment token": (403, 403, 403, 403, 403, 403, 403, 403),
    "list enrollment tokens":           (401,  403,  403,  403,  403,  403,  403,  200),
    "make an enrollment token":         (401,  403,  403,  403,  403,  403,  403,  201),
    "revoke an enrollment token":       (401,  403,  403,  403,  403,  403,  403,  200),
    "list licences":                    (401,  403,  403,  403,  200,  200,  200,  200),
    "add licence seats":                (401,  403,  403,  403,  201,  201,  201,  201),
    "patch two ports":                  (401,  403,  403,  403,  201,  201,  201,  201),
    "unplug a patch cord":              (401,  403,  403,  403,  200,  200,  200,  200),
    "read the cabling report":          (401,  403,  403,  403,  200,  200,  200,  200),
    "list a link's certifications":     (401,  403,  403,  403,  200,  200,  200,  200),
    "attach a tester's report":         (401,  403,  403,  403,  200,  200,  200,  200),
    "list maintenance plans":           (401,  403,  403,  403,  200,  200,  200,  200),
    "create a maintenance plan":        (401,  403,  403,  403,  201,  201,  201,  201),
    "replace a maintenance plan":       (401,  403,  403,  403,  200,  200,  200,  200),
    "list overdue maintenance":         (401,  403,  403,  403,  200,  200,  200,  200),
    "record maintenance as done":       (401,  403,  403,  403,  200,  200,  200,  200),
    # Playbooks: agents read checklist templates, supervisors and admins write them. On
    # the ticket, checklists, sub-tasks and remote sessions are for the agents who may
    # work it: Maria sees her ticket but is refused (403); the others find nothing (404).
    "list checklist templates":         (401,  403,  403,  403,  200,  200,  200,  200),
    "create a checklist template":      (401,  403,  403,  403,  403,  403,  201,  201),
    "read a checklist template":        (401,  403,  403,  403,  200,  200,  200,  200),
    "replace a checklist template":     (401,  403,  403,  403,  403,  403,  200,  200),
    "delete a checklist template":      (401,  403,  403,  403,  403,  403,  204,  204),
    "list the ticket's checklists":     (401,  403,  404,  404,  200,  404,  200,  200),
    "attach a checklist":               (401,  403,  404,  404,  201,  404,  201,  201),
    "check a checklist step":           (401,  403,  404,  404,  200,  404,  200,  200),
    "list the ticket's sub-tasks":      (401,  403,  404,  404,  200,  404,  200,  200),
    "add a sub-task":                   (401,  403,  404,  404,  201,  404,  201,  201),
    "list my sub-tasks":                (401,  403,  403,  403,  200,  200,  200,  200),
    "change a sub-task":                (401,  403,  404,  404,  200,  404,  200,  200),
    "mark a sub-task done":             (401,  403,  404,  404,  200,  404,  200,  200),
    "list the ticket's remote sessions": (401, 403,  404,  404,  200,  404,  200,  200),
    "record a remote session":          (401,  403,  404,  404,  201,  404,  201,  201),
    "end a remote session":             (401,  403,  404,  404,  200,  404,  200,  200),
    # Problems: agents only (requesters 403 before anything is looked up); a ticket Bob
    # does not see is 404 to him. The webhook takes a tracker's signature, not a person.
    "list problems":                    (401,  403,  403,  403,  200,  200,  200,  200),
    "record a problem":                 (401,  403,  403,  403,  201,  201,  201,  201),
    "read a problem":                   (401,  403,  403,  403,  200,  200,  200,  200),
    "change a problem":                 (401,  403,  403,  403,  200,  200,  200,  200),
    "link the ticket to a problem":     (401,  403,  403,  403,  201,  404,  201,  201),
    "unlink the ticket from a problem": (401,  403,  403,  403,  204,  404,  204,  204),
    "report a problem to development":  (401,  403,  403,  403,  202,  202,  202,  202),
    "try a failed bug report again":    (401,  403,  403,  403,  202,  202,  202,  202),
    "report the ticket to development": (401,  403,  403,  403,  202,  404,  202,  202),
    "send an unsigned tracker webhook": (401,  401,  401,  401,  401,  401,  401,  401),
    # Time tracking (tickets): agents who may work the ticket log time and run their own
    # timer; an entry is changed by its author or a supervisor (Alice may not delete
    # Carol's). Maria sees her ticket but is refused (403), the others find nothing (404).
    "list the ticket's time":           (401,  403,  404,  404,  200,  404,  200,  200),
    "log time":                         (401,  403,  404,  404,  201,  404,  201,  201),
    "change Alice's time entry":        (401,  403,  404,  404,  200,  404,  200,  200),
    "delete Carol's time entry":        (401,  403,  404,  404,  403,  404,  204,  204),
    "start my timer":                   (401,  403,  404,  404,  201,  404,  201,  201),
    "stop my timer":                    (401,  403,  404,  404,  201,  404,  201,  201),
    "discard my timer":                 (401,  403,  404,  404,  204,  404,  204,  204),
    "list time entries":                (401,  403,  403,  403,  200,  200,  200,  200),
    # Satisfaction: whoever may read the ticket reads its rating.
    "read the ticket's rating":         (401,  200,  404,  404,  200,  404,  200,  200),
    # Flows: requesters read and run the public flows (not on tickets); agents every flow,
    # its YAML and outcomes; supervisors and admins import. A run is answered only by
    # whoever started it (Alice, on the ticket): others who may see the ticket get 403,
    # the rest find nothing (404).
    "list flows":                       (401,  200,  200,  200,  200,  200,  200,  200),
    "read a public flow":               (401,  200,  200,  200,  200,  200,  200,  200),
    "read an agents-only flow":         (401,  404,  404,  404,  200,  200,  200,  200),
    "export a flow as YAML":            (401,  403,  403,  403,  200,  200,  200,  200),
    "read a flow's outcomes":           (401,  403,  403,  403,  200,  200,  200,  200),
    "import a flow as YAML":            (401,  403,  403,  403,  403,  403,  201,  201),
    "run a public flow":                (401,  201,  201,  201,  201,  201,  201,  201),
    "run a flow on the ticket":         (401,  403,  403,  403,  201,  404,  201,  201),
    "read Alice's run on the ticket":   (401,  404,  404,  404,  200,  404,  200,  200),
    "answer Alice's run":               (401,  404,  404,  404,  200,  404,  403,  403),
    "step back in Alice's run":         (401,  404,  404,  404,  200,  404,  403,  403),
    "finish Alice's run":               (401,  404,  404,  404,  200,  404,  403,  403),
    # Reports: the figures are for supervisors and admins; any agent exports the tickets
    # they may see (tested in tests/reports/).
    "read the report figures":          (401,  403,  403,  403,  403,  403,  200,  200),
    "export tickets":                   (401,  403,  403,  403,  200,  200,  200,  200),
    # Triage: agents who may work the ticket read and decide its suggestions and merge a
    # flagged duplicate (Maria sees her ticket but is refused, 403; Bob does not see it,
    # 404). Supervisors read the model and change incidents; admins train and configure.
    "read the ticket's triage":         (401,  403,  404,  404,  200,  404,  200,  200),
    "accept a triage suggestion":       (401,  403,  404,  404,  200,  404,  200,  200),
    "reject a triage suggestion":       (401,  403,  404,  404,  200,  404,  200,  200),
    "merge a probable duplicate":       (401,  403,  404,  404,  200,  404,  200,  200),
    "dismiss a probable duplicate":     (401,  403,  404,  404,  200,  404,  200,  200),
    "read the triage model":            (401,  403,  403,  403,  403,  403,  200,  200),
    "train the triage model":           (401,  403,  403,  403,  403,  403,  403,  202),
    "list probable major incidents":    (401,  403,  403,  403,  200,  200,  200,  200),
    "change a probable major incident": (401,  403,  403,  403,  403,  403,  200,  200),
    "read the triage settings":         (401,  403,  403,  403,  403,  403,  403,  200),
    "change the triage settings":       (401,  403,  403,  403,  403,  403,  403,  200),
    # Evaluations: every agent reads; L2/L3 agents, supervisors and admins run them (Alice,
    # L1, is refused with 403); requesters never see them (403 before any lookup).
    "list evaluations":                 (401,  403,  403,  403,  200,  200,  200,  200),
    "plan an evaluation":               (401,  403,  403,  403,  403,  201,  201,  201),
    "read the evaluations report":      (401,  403,  403,  403,  200,  200,  200,  200),
    "export the evaluations report":    (401,  403,  403,  403,  200,  200,  200,  200),
    "read an evaluation":               (401,  403,  403,  403,  200,  200,  200,  200),
    "change an evaluation":             (401,  403,  403,  403,  403,  200,  200,  200),
    "start testing an evaluation":      (401,  403,  403,  403,  403,  200,  200,  200),
    "add an evaluation step":           (401,  403,  403,  403,  403,  201,  201,  201),
    "record an evaluation step":        (401,  403,  403,  403,  403,  200,  200,  200),
    "record a compatibility result":    (401,  403,  403,  403,  403,  200,  200,  200),
    "remove a compatibility result":    (401,  403,  403,  403,  403,  204,  204,  204),
    "score an evaluation":              (401,  403,  403,  403,  403,  200,  200,  200),
    "record an evaluation issue":       (401,  403,  403,  403,  403,  201,  201,  201),
    "make an evaluation issue a problem": (401, 403,  403,  403,  403,  201,  201,  201),
    "send feedback to the vendor":      (401,  403,  403,  403,  403,  201,  201,  201),
    "mail failed vendor feedback again": (401,  403,  403,  403,  403,  200,  200,  200),
    # Training: agents manage courses and sessions; a requester sees the sessions she is
    # invited to (Maria) or that are open to her organization, and answers them; the
    # trainer (Alice) or a supervisor takes attendance; only attendees rate and get a
    # certificate; supervisors read the coverage report.
    "list training courses":            (401,  200,  200,  200,  200,  200,  200,  200),
    "create a training course":         (401,  403,  403,  403,  201,  201,  201,  201),
    "read a training course":           (401,  200,  404,  404,  200,  200,  200,  200),
    "change a training course":         (401,  403,  404,  404,  200,  200,  200,  200),
    "add a training course file":       (401,  403,  404,  404,  201,  201,  201,  201),
    "download a training course file":  (401,  200,  404,  404,  200,  200,  200,  200),
    "list training sessions":           (401,  200,  200,  200,  200,  200,  200,  200),
    "schedule a training session":      (401,  403,  404,  404,  201,  201,  201,  201),
    "read a training session":          (401,  200,  404,  404,  200,  200,  200,  200),
    "change a training session":        (401,  403,  404,  404,  200,  200,  200,  200),
    "cancel a training session":        (401,  403,  404,  404,  200,  200,  200,  200),
    "list a training session's people": (401,  403,  404,  404,  200,  200,  200,  200),
    "invite to a training session":     (401,  403,  404,  404,  201,  201,  201,  201),
    "answer a training invitation":     (401,  200,  404,  404,  200,  200,  200,  200),
    "download my training invitation":  (401,  200,  404,  404,  404,  404,  404,  404),
    "take training attendance":         (401,  403,  404,  404,  200,  403,  200,  200),
    "rate a training session":          (401,  200,  404,  404,  404,  404,  404,  404),
    "download a training certificate":  (401,  200,  404,  404,  404,  404,  404,  404),
    "recommend a course on the ticket": (401,  403,  404,  404,  201,  404,  201,  201),
    "read the training coverage":       (401,  403,  403,  403,  403,  403,  200,  200),
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
    form: dict | None = None  # fields sent with the uploaded file


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
    "list KB categories": Call("GET", "/kb/categories"),
    "create a KB category": Call("POST", "/kb/categories", {"name": "Network"}),
    "add a KB section": Call(
        "POST", "/kb/categories/{category_id}/sections", {"name": "VPN"}, setup="kb Acme's"
    ),
    "list articles": Call("GET", "/kb/articles"),
    "write an article": Call("POST", "/kb/articles", {"title": "VPN", "body": "Reconnect."}),
    "read an article for Acme": Call("GET", "/kb/articles/{article_id}", setup="kb Acme's"),
    "change a draft article": Call(
        "PATCH", "/kb/articles/{article_id}", {"body": "Better."}, setup="kb Sara's draft"
    ),
    "change a published article": Call(
        "PATCH", "/kb/articles/{article_id}", {"body": "Better."}, setup="kb public"
    ),
    "submit a draft for review": Call(
        "POST",
        "/kb/articles/{article_id}/status",
        {"status": "in_review"},
        setup="kb Sara's draft",
    ),  # fmt: skip
    "publish Alice's article in review": Call(
        "POST",
        "/kb/articles/{article_id}/status",
        {"status": "published"},
        setup="kb Alice's in review",
    ),  # fmt: skip
    "translate an article": Call(
        "POST",
        "/kb/articles/{article_id}/translations",
        {"language": "es"},
        setup="kb Sara's draft",
    ),  # fmt: skip
    "list an article's versions": Call(
        "GET", "/kb/articles/{article_id}/versions", setup="kb Sara's draft"
    ),
    "read an article's version": Call(
        "GET", "/kb/articles/{article_id}/versions/{number}", setup="kb Sara's draft"
    ),
    "restore an article's version": Call(
        "POST",
        "/kb/articles/{article_id}/versions/{number}/restore",
        {},
        setup="kb Sara's draft",
    ),  # fmt: skip
    "mark Sara's article reviewed": Call(
        "POST", "/kb/articles/{article_id}/reviewed", {}, setup="kb Sara's draft"
    ),
    "say whether an article helped": Call(
        "POST",
        "/kb/articles/{article_id}/feedback",
        {"helpful": False, "comment": "Tray?"},
        setup="kb Acme's",
    ),  # fmt: skip
    "export an article": Call("GET", "/kb/articles/{article_id}/export", setup="kb Acme's"),
    "list FAQ entries": Call("GET", "/kb/faq"),
    "write a FAQ entry": Call(
        "POST",
        "/kb/faq",
        {"category_id": "{category_id}", "question": "Toner?", "answer": "Shake it."},
        setup="kb Acme's",
    ),  # fmt: skip
    "change an unpublished FAQ entry": Call(
        "PATCH", "/kb/faq/{entry_id}", {"question": "Toner, again?"}, setup="kb FAQ draft"
    ),
    "suggest articles": Call("GET", "/kb/suggestions"),
    "write an article from the ticket": Call(
        "POST", "/kb/tickets/{number}/article", {}, setup="resolved"
    ),
    "mark the ticket solved with an article": Call(
        "POST",
        "/kb/tickets/{number}/solved-with",
        {"article_id": "{article_id}"},
        setup="kb Acme's",
    ),  # fmt: skip
    "suggest articles for the ticket": Call("GET", "/kb/tickets/{number}/suggestions"),
    "list assets": Call("GET", "/assets"),
    "record an asset": Call("POST", "/assets", {"tag": "NB-9", "type_id": "{type_id}"}, "assets"),
    "read Maria's laptop": Call("GET", "/assets/{asset_id}", setup="assets"),
    "change Maria's laptop": Call("PATCH", "/assets/{asset_id}", {"ram_mb": 8}, "assets"),
    "read an asset's history": Call("GET", "/assets/{asset_id}/history", setup="assets"),
    "list an asset's tickets": Call("GET", "/assets/{asset_id}/tickets", setup="assets"),
    "link the ticket to the laptop": Call(
        "POST", "/assets/{asset_id}/tickets", {"number": "{number}"}, "assets"
    ),
    "unlink the ticket from the laptop": Call(
        "DELETE", "/assets/{asset_id}/tickets/{number}", setup="assets linked"
    ),
    "list an asset's software": Call("GET", "/assets/{asset_id}/software", setup="assets"),
    "install software": Call(
        "POST", "/assets/{asset_id}/software", {"name": "7-Zip", "version": "24"}, "assets"
    ),
    "uninstall software": Call(
        "DELETE", "/assets/{asset_id}/software/{product_id}", setup="assets software"
    ),
    "trace an asset's cabling": Call("GET", "/assets/{asset_id}/cabling", setup="assets"),
    "list asset types": Call("GET", "/assets/types"),
    "create an asset type": Call("POST", "/assets/types", {"name": "Tablet", "kind": "computer"}),
    "replace an asset type": Call(
        "PUT", "/assets/types/{type_id}", {"name": "Desktop", "kind": "computer"}, "assets"
    ),
    "export assets": Call("GET", "/assets/export"),
    "import a CSV file": Call("POST", "/assets/imports", form={"kind": "assets"}, upload=True),
    "follow an import": Call("GET", "/assets/imports/{run_id}", setup="assets import"),
    "report inventory without an enrollment token": Call(
        "POST", "/assets/inventory", {"hardware_uuid": "x"}
    ),
    "list enrollment tokens": Call("GET", "/assets/enrollment-tokens"),
    "make an enrollment token": Call("POST", "/assets/enrollment-tokens", {"name": "HQ"}),
    "revoke an enrollment token": Call(
        "DELETE", "/assets/enrollment-tokens/{token_id}", setup="assets token"
    ),
    "list licences": Call("GET", "/assets/licences"),
    "add licence seats": Call("POST", "/assets/licences", {"name": "Visio", "seats": 5}),
    "patch two ports": Call("POST", "/assets/cabling/patch", PORTS, "assets"),
    "unplug a patch cord": Call("POST", "/assets/cabling/unpatch", PORTS, "assets patched"),
    "read the cabling report": Call("GET", "/assets/cabling/report"),
    "list a link's certifications": Call(
        "GET", "/assets/cabling/links/{link_id}/certifications", setup="assets certified"
    ),
    "attach a tester's report": Call(
        "POST",
        "/assets/cabling/certifications/{certification_id}/report",
        setup="assets certified",
        upload=True,
    ),
    "list maintenance plans": Call("GET", "/assets/maintenance/plans"),
    "create a maintenance plan": Call("POST", "/assets/maintenance/plans", PLAN, "assets"),
    "replace a maintenance plan": Call(
        "PUT", "/assets/maintenance/plans/{plan_id}", PLAN, "assets maintenance"
    ),
    "list overdue maintenance": Call("GET", "/assets/maintenance/overdue"),
    "record maintenance as done": Call(
        "POST",
        "/assets/maintenance/tasks/{task_id}/complete",
        {"results": {"Clean": True}},
        "assets maintenance",
    ),
    # Playbooks
    "list checklist templates": Call("GET", "/playbooks/templates"),
    "create a checklist template": Call(
        "POST", "/playbooks/templates", {"name": "Swap", "steps": [{"title": "Unpack"}]}
    ),
    "read a checklist template": Call(
        "GET", "/playbooks/templates/{template_id}", setup="playbooks"
    ),
    "replace a checklist template": Call(
        "PUT",
        "/playbooks/templates/{template_id}",
        {"name": "Swap", "steps": [{"title": "Unpack"}]},
        "playbooks",
    ),
    "delete a checklist template": Call(
        "DELETE", "/playbooks/templates/{template_id}", setup="playbooks"
    ),
    "list the ticket's checklists": Call(
        "GET", "/playbooks/tickets/{number}/checklists", setup="playbooks"
    ),
    "attach a checklist": Call(
        "POST",
        "/playbooks/tickets/{number}/checklists",
        {"template_id": "{recovery_id}"},
        "playbooks",
    ),
    "check a checklist step": Call(
        "POST", "/playbooks/tickets/{number}/steps/{step_id}", {"done": True}, "playbooks"
    ),
    "list the ticket's sub-tasks": Call(
        "GET", "/playbooks/tickets/{number}/subtasks", setup="playbooks"
    ),
    "add a sub-task": Call(
        "POST", "/playbooks/tickets/{number}/subtasks", {"title": "Order toner"}, "playbooks"
    ),
    "list my sub-tasks": Call("GET", "/playbooks/subtasks/mine"),
    "change a sub-task": Call(
        "PATCH", "/playbooks/subtasks/{task_id}", {"title": "Order 2"}, "playbooks"
    ),
    "mark a sub-task done": Call(
        "POST", "/playbooks/subtasks/{task_id}/done", {"done": True}, "playbooks"
    ),
    "list the ticket's remote sessions": Call(
        "GET", "/playbooks/tickets/{number}/remote-sessions", setup="playbooks"
    ),
    "record a remote session": Call(
        "POST",
        "/playbooks/tickets/{number}/remote-sessions",
        {"tool": "anydesk", "consent_by": "Maria", "consent_method": "verbal"},
        "playbooks",
    ),
    "end a remote session": Call(
        "POST", "/playbooks/remote-sessions/{session_id}/end", {"summary": "ok"}, "playbooks"
    ),
    # Problems
    "list problems": Call("GET", "/problems"),
    "record a problem": Call("POST", "/problems", {"title": "Jams"}),
    "read a problem": Call("GET", "/problems/{problem_id}", setup="problems"),
    "change a problem": Call("PATCH", "/problems/{problem_id}", {"title": "Jams"}, "problems"),
    "link the ticket to a problem": Call(
        "POST", "/problems/{problem_id}/tickets", {"number": "{number}"}, "problems"
    ),
    "unlink the ticket from a problem": Call(
        "DELETE", "/problems/{problem_id}/tickets/{number}", setup="problems linked"
    ),
    "report a problem to development": Call(
        "POST", "/problems/{problem_id}/report", {}, "problems"
    ),
    "try a failed bug report again": Call(
        "POST", "/problems/reports/{report_id}/retry", setup="problems failed report"
    ),
    "report the ticket to development": Call(
        "POST", "/problems/tickets/{number}/report", {}, "problems"
    ),
    "send an unsigned tracker webhook": Call(
        "POST", "/problems/webhooks/{tracker_id}", {"key": "1"}, "problems"
    ),
    "list the ticket's time": Call("GET", "/tickets/{number}/time", setup="time entries"),
    "log time": Call("POST", "/tickets/{number}/time", {"duration": "25m", "note": "Toner"}),
    "change Alice's time entry": Call(
        "PATCH", "/tickets/{number}/time/{entry_id}", {"duration": "1h"}, "time Alice's entry"
    ),
    "delete Carol's time entry": Call(
        "DELETE", "/tickets/{number}/time/{entry_id}", setup="time Carol's entry"
    ),
    "start my timer": Call("POST", "/tickets/{number}/timer", {}),
    "stop my timer": Call("POST", "/tickets/{number}/timer/stop", {}, "time timer"),
    "discard my timer": Call("DELETE", "/tickets/{number}/timer", setup="time timer"),
    "list time entries": Call("GET", "/time"),
    "read the ticket's rating": Call("GET", "/tickets/{number}/rating", setup="time rated"),
    # Flows
    "list flows": Call("GET", "/flows"),
    "read a public flow": Call("GET", "/flows/{slug}", setup="flows"),
    "read an agents-only flow": Call("GET", "/flows/{slug}", setup="flows agents-only"),
    "export a flow as YAML": Call("GET", "/flows/{slug}/export", setup="flows"),
    "read a flow's outcomes": Call("GET", "/flows/{slug}/stats", setup="flows"),
    "import a flow as YAML": Call("POST", "/flows/import", {"yaml": FLOW_YAML}),
    "run a public flow": Call("POST", "/flows/{slug}/runs", {}, "flows"),
    "run a flow on the ticket": Call("POST", "/flows/{slug}/runs", {"ticket": "{number}"}, "flows"),
    "read Alice's run on the ticket": Call("GET", "/flows/runs/{run_id}", setup="flows"),
    "answer Alice's run": Call("POST", "/flows/runs/{run_id}/answer", {"answer": 0}, "flows"),
    "step back in Alice's run": Call("POST", "/flows/runs/{run_id}/back", setup="flows answered"),
    "finish Alice's run": Call(
        "POST", "/flows/runs/{run_id}/finish", {"outcome": "abandoned"}, "flows"
    ),
    # Reports
    "read the report figures": Call("GET", "/reports/metrics"),
    "export tickets": Call("GET", "/reports/export"),
    # Triage
    "read the ticket's triage": Call("GET", "/triage/tickets/{number}"),
    "accept a triage suggestion": Call(
        "POST", "/triage/tickets/{number}/suggestions/{field}/accept", {}, "triage suggestion"
    ),
    "reject a triage suggestion": Call(
        "POST", "/triage/tickets/{number}/suggestions/{field}/reject", {}, "triage suggestion"
    ),
    "merge a probable duplicate": Call(
        "POST", "/triage/tickets/{number}/duplicate/merge", {}, "triage duplicate"
    ),
    "dismiss a probable duplicate": Call(
        "POST", "/triage/tickets/{number}/duplicate/dismiss", {}, "triage duplicate"
    ),
    "read the triage model": Call("GET", "/triage/model"),
    "train the triage model": Call("POST", "/triage/model/train"),
    "list probable major incidents": Call("GET", "/triage/incidents"),
    "change a probable major incident": Call(
        "PATCH", "/triage/incidents/{incident_id}", {"status": "closed"}, "triage incident"
    ),
    "read the triage settings": Call("GET", "/triage/settings"),
    "change the triage settings": Call("PUT", "/triage/settings", TRIAGE_SETTINGS),
    # Evaluations
    "list evaluations": Call("GET", "/evaluations"),
    "plan an evaluation": Call(
        "POST", "/evaluations", {"title": "Dock", "kind": "hardware", "model": "D4"}
    ),
    "read the evaluations report": Call("GET", "/evaluations/report"),
    "export the evaluations report": Call("GET", "/evaluations/report.csv"),
    "read an evaluation": Call("GET", "/evaluations/{evaluation_id}", setup="evaluations"),
    "change an evaluation": Call(
        "PATCH", "/evaluations/{evaluation_id}", {"vendor": "Dockly"}, "evaluations"
    ),
    "start testing an evaluation": Call(
        "POST", "/evaluations/{evaluation_id}/status", {"status": "testing"}, "evaluations"
    ),
    "add an evaluation step": Call(
        "POST", "/evaluations/{evaluation_id}/steps", {"text": "Wakes up"}, "evaluations"
    ),
    "record an evaluation step": Call(
        "PUT",
        "/evaluations/{evaluation_id}/steps/{step_id}",
        {"result": "pass"},
        "evaluations testing",
    ),
    "record a compatibility result": Call(
        "PUT",
        "/evaluations/{evaluation_id}/compatibility",
        {"system_kind": "asset_type", "system_id": "{asset_type_id}", "result": "issues"},
        "evaluations testing",
    ),
    "remove a compatibility result": Call(
        "DELETE",
        "/evaluations/{evaluation_id}/compatibility/{result_id}",
        setup="evaluations testing",
    ),
    "score an evaluation": Call(
        "PUT", "/evaluations/{evaluation_id}/score", {"score": 4}, "evaluations testing"
    ),
    "record an evaluation issue": Call(
        "POST", "/evaluations/{evaluation_id}/findings", {"title": "Hangs"}, "evaluations testing"
    ),
    "make an evaluation issue a problem": Call(
        "POST",
        "/evaluations/{evaluation_id}/findings/{finding_id}/problem",
        {},
        "evaluations testing",
    ),
    "send feedback to the vendor": Call(
        "POST",
        "/evaluations/{evaluation_id}/feedback",
        {"method": "by_hand", "body": "Told them."},
        "evaluations testing",
    ),
    "mail failed vendor feedback again": Call(
        "POST",
        "/evaluations/{evaluation_id}/feedback/{feedback_id}/retry",
        setup="evaluations testing",
    ),
    # Training
    "list training courses": Call("GET", "/training/courses"),
    "create a training course": Call("POST", "/training/courses", {"title": "VPN"}),
    "read a training course": Call("GET", "/training/courses/{course_id}", setup="training"),
    "change a training course": Call(
        "PATCH", "/training/courses/{course_id}", {"title": "VPN 2"}, "training"
    ),
    "add a training course file": Call(
        "POST", "/training/courses/{course_id}/files", setup="training", upload=True
    ),
    "download a training course file": Call(
        "GET", "/training/courses/{course_id}/files/{file_id}", setup="training"
    ),
    "list training sessions": Call("GET", "/training/sessions"),
    "schedule a training session": Call(
        "POST",
        "/training/courses/{course_id}/sessions",
        {
            "starts_at": "2031-01-06T09:00:00Z",
            "duration_minutes": 60,
            "capacity": 5,
            "trainer_id": "{alice}",
            "place": "Room 1",
        },
        "training",
    ),
    "read a training session": Call("GET", "/training/sessions/{session_id}", setup="training"),
    "change a training session": Call(
        "PATCH", "/training/sessions/{session_id}", {"place": "Room 9"}, "training"
    ),
    "cancel a training session": Call(
        "POST", "/training/sessions/{session_id}/cancel", setup="training"
    ),
    "list a training session's people": Call(
        "GET", "/training/sessions/{session_id}/attendees", setup="training"
    ),
    "invite to a training session": Call(
        "POST",
        "/training/sessions/{session_id}/invitations",
        {"user_ids": ["{user_id}"]},
        "training",
    ),
    "answer a training invitation": Call(
        "POST", "/training/sessions/{session_id}/response", {"accept": True}, "training"
    ),
    "download my training invitation": Call(
        "GET", "/training/sessions/{session_id}/invite.ics", setup="training"
    ),
    "take training attendance": Call(
        "POST",
        "/training/sessions/{session_id}/attendance",
        {"present": [{"user_id": "{maria_id}", "attended": True}]},
        "training past",
    ),
    "rate a training session": Call(
        "POST", "/training/sessions/{session_id}/feedback", {"rating": 5}, "training past"
    ),
    "download a training certificate": Call(
        "GET", "/training/sessions/{session_id}/certificate", setup="training past"
    ),
    "recommend a course on the ticket": Call(
        "POST",
        "/training/tickets/{number}/recommendations",
        {"course_id": "{course_id}"},
        "training",
    ),
    "read the training coverage": Call("GET", "/training/report"),
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
    teams: dict[str, Team] = field(default_factory=dict)
    sara: User | None = None


# -- the world, built once for the module --------------------------------------------
#
# Building the world for each of the ~1,800 cases was most of this module's time. It is
# built once inside an outer transaction; each test runs in a savepoint of it (the `db`
# fixture) that is rolled back, and gets a deep copy of the world's instances, so neither
# a row nor an in-memory change of one case reaches the next (Django's setUpTestData).
# The named people of tests/conftest.py are overridden below by the world's own.


@pytest.fixture(scope="module")
def _media_in_tmp(tmp_path_factory):
    """The world's files outlive one test: one media folder for the whole module."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("matrix") / "media"):
        yield


@pytest.fixture(scope="module")
def _built_world(_media_in_tmp, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(JOBS_MODE="eager"):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            world = _build_world()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


def _build_world() -> World:
    """The people of tests/conftest.py, made as its fixtures make them, and the ticket."""
    ada = make_user("ada", Role.ADMIN)
    l3 = Team.objects.create(name="Applications L3", tier=Tier.L3)
    l2 = Team.objects.create(name="Infrastructure L2", tier=Tier.L2, escalation_team=l3)
    l1 = Team.objects.create(name="Service Desk L1", tier=Tier.L1, escalation_team=l2)
    teams = {"L1": l1, "L2": l2, "L3": l3}
    agents = {}
    for name, tier in (("alice", Tier.L1), ("bob", Tier.L2), ("sara", Tier.L3)):
        agents[name] = make_user(name, Role.AGENT, tier=tier)
        teams[tier].members.add(agents[name])
    alice, bob, sara = agents["alice"], agents["bob"], agents["sara"]
    carol = make_user("carol", Role.SUPERVISOR)
    acme = Organization.objects.create(name="Acme")
    accounts.set_domains(acme, ["acme.example"])
    maria = make_user("maria", organization=acme)
    marco = make_user("marco", organization=acme)
    globex = Organization.objects.create(name="Globex")
    pedro = make_user("pedro", organization=globex)

    def make_ticket() -> Ticket:
        return services.open_ticket(
            acting_user=alice, requester=maria, team=l1, subject=f"Printer jam {next(_serial)}",
            body="The printer on floor 2 jams on every page.",
        )  # fmt: skip

    ticket = make_ticket()
    services.reply(ticket, acting_user=alice, body="Which floor?")
    note = services.add_note(ticket, acting_user=alice, body="INTERNAL-NOTE: fake toner.")
    services.log_call(ticket, acting_user=alice, body="INTERNAL-CALL: she was upset.")
    public_file = _attach(ticket, maria, "jam.txt", b"PUBLIC-FILE")
    internal_file = _attach(ticket, alice, "supplier.txt", b"INTERNAL-FILE")
    assert (public_file.internal, internal_file.internal) == (False, True)
    other = make_ticket()
    people = dict(zip(PEOPLE, (None, maria, marco, pedro, alice, bob, carol, ada), strict=True))
    values = {
        "alice": alice.pk,
        "other": other.number,
        "user_id": marco.pk,
        "org_id": acme.pk,
        "team_id": l1.pk,
        "category_id": Category.objects.create(name="Printers").pk,
        "sara_token": accounts.create_api_token(acting_user=sara, name="hers")[0].pk,
        "calendar_id": BusinessCalendar.objects.create(name="Weekdays").pk,
        "policy_id": SlaPolicy.objects.create(name="Standard").pk,
        "rule_id": Rule.objects.create(
            name="Tag", trigger="created", actions=[{"type": "add_tag", "value": "x"}]
        ).pk,
        "sara_macro": CannedResponse.objects.create(owner=sara, title="Mine", body="Hers.").pk,
    }
    return World(
        people, ticket, other, public_file, internal_file, note, values, teams=teams, sara=sara
    )


@pytest.fixture
def world(_built_world, db) -> World:
    """This test's copy of the world; its writes roll back with the test's savepoint."""
    return copy.deepcopy(_built_world)


@pytest.fixture(scope="module")
def _handler():
    """One request handler for the module: each new test Client loads every middleware
    again, WhiteNoise's scan of the static files included (about 10 ms a case)."""
    return ClientHandler(enforce_csrf_checks=False)  # as the test Client makes it


@pytest.fixture
def api(_handler):
    """As tests/conftest.py's, on the module's handler."""

    def signed_in(user: User | None = None, token: str | None = None) -> Api:
        client = Api(user, token)
        client.client.handler = _handler
        return client

    return signed_in


def _person(name: str):
    """The conftest fixture of that name, answered from the module's world."""
    return pytest.fixture(name=name)(lambda world: world.people[name])


ada, alice, bob, carol, maria, marco, pedro = (
    _person(name) for name in ("ada", "alice", "bob", "carol", "maria", "marco", "pedro")
)


@pytest.fixture
def sara(world):
    return world.sara


@pytest.fixture
def acme(maria):
    return maria.organization


@pytest.fixture
def globex(pedro):
    return pedro.organization


@pytest.fixture
def teams(world):
    return world.teams


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
    elif call.setup.startswith("assets"):
        values.update(_assets_setup(call.setup, world))
    elif call.setup.startswith("kb "):
        values.update(_kb_setup(call.setup, world))
    elif call.setup.startswith("problems"):
        values.update(_problems_setup(call.setup, world))
    elif call.setup == "playbooks":
        values.update(_playbooks_setup(world))
    elif call.setup.startswith("time"):
        values.update(_time_setup(call.setup, world, person))
    elif call.setup.startswith("flows"):
        values.update(_flows_setup(call.setup, world))
    elif call.setup.startswith("triage"):
        values.update(_triage_setup(call.setup, world))
    elif call.setup.startswith("evaluations"):
        values.update(_evaluations_setup(call.setup, world))
    elif call.setup.startswith("training"):
        values.update(_training_setup(call.setup, world))
    return values


def _assets_setup(setup: str, world: World) -> dict[str, int]:
    """Maria's laptop (and Pedro's desktop), and what a call needs besides, through the
    assets services."""
    from datetime import date

    from soporte.assets import cabling, maintenance
    from soporte.assets import services as assets
    from soporte.assets.defaults import ensure_default_types
    from soporte.assets.models import AssetType, CableLink, Certification, ImportRun

    ada, alice = world.people["ada"], world.people["alice"]
    ensure_default_types()  # a browser test's flush may have removed the migration's rows
    kinds = {t.name: t for t in AssetType.objects.all()}
    laptop = assets.create_asset(
        acting_user=ada, tag="ACME-0001", type=kinds["Laptop"], owner=world.people["maria"]
    )
    assets.create_asset(
        acting_user=ada, tag="GLX-0001", type=kinds["Desktop"], owner=world.people["pedro"]
    )
    outlet = assets.create_asset(acting_user=ada, tag="OUT-1", type=kinds["Wall outlet"])
    values = {"asset_id": laptop.pk, "outlet_id": outlet.pk, "type_id": kinds["Desktop"].pk}
    if setup == "assets linked":
        assets.link_ticket(laptop, world.ticket, acting_user=alice)
    elif setup == "assets software":
        product = assets.product_named("7-Zip")
        assets.install_software(laptop, acting_user=alice, product=product)
        values["product_id"] = product.pk
    elif setup == "assets import":
        values["run_id"] = ImportRun.objects.create(kind="assets", content="tag,type\n").pk
    elif setup == "assets token":
        values["token_id"] = assets.create_enrollment_token(acting_user=ada, name="HQ")[0].pk
    elif setup == "assets patched":
        cabling.patch(
            cabling.get_port(laptop, "eth0"), cabling.get_port(outlet, "A"), acting_user=alice
        )
    elif setup == "assets certified":
        panel = assets.create_asset(acting_user=ada, tag="PP-1", type=kinds["Patch panel"])
        link = CableLink.objects.create(
            link_id="L-1", outlet_port=cabling.get_port(outlet, "A"),
            panel_port=cabling.get_port(panel, "1"), category="cat6", standard="tia-568",
        )  # fmt: skip
        values["link_id"] = link.pk
        values["certification_id"] = Certification.objects.create(
            link=link, tested_on=date(2025, 6, 2), technician="JO", tester_model="DSX",
            passed=True,
        ).pk  # fmt: skip
    elif setup == "assets maintenance":
        plan = maintenance.save_plan(
            acting_user=alice, name="Care", rrule_text="FREQ=MONTHLY", starts_at=laptop.created_at,
            checklist=["Clean"], assets=[laptop],
        )  # fmt: skip
        values["plan_id"] = plan.pk
        values["task_id"] = maintenance.MaintenanceTask.objects.create(
            plan=plan, asset=laptop, due_at=laptop.created_at
        ).pk
    return values


def _kb_setup(setup: str, world: World) -> dict[str, int]:
    """Knowledge-base states, made through its services: an article published for Acme,
    a public one, Sara's draft (two versions), Alice's article in review, a FAQ draft."""
    from soporte.kb import services as kb
    from soporte.kb.models import Category as KbCategory
    from soporte.kb.models import Section

    alice, carol = world.people["alice"], world.people["carol"]
    sara = User.objects.get(username="sara")
    category = KbCategory.objects.create(name="Printing")
    section = Section.objects.create(category=category, name="Printers")
    values = {"category_id": category.pk}

    def article(author, visibility="public", **fields):
        return kb.create_article(
            acting_user=author, title="Printer jam", body="Open the tray.", section=section,
            visibility=visibility, **fields,
        )  # fmt: skip

    if setup in ("kb Acme's", "kb public"):
        acme = world.people["maria"].organization
        found = (
            article(alice, "organizations", organizations=[acme])
            if setup == "kb Acme's"
            else article(alice)
        )
        kb.transition_article(found, acting_user=carol, status="published")
    elif setup == "kb Sara's draft":
        found = article(sara)
        kb.update_article(found, acting_user=sara, body="Open tray 2.")
        values["number"] = 1  # the version to read or restore
    elif setup == "kb Alice's in review":
        found = article(alice)
        kb.transition_article(found, acting_user=alice, status="in_review")
    elif setup == "kb FAQ draft":
        entry = kb.create_faq_entry(
            acting_user=alice, category=category, question="Toner?", answer="Shake it."
        )
        return {**values, "entry_id": entry.pk}
    else:
        raise AssertionError(f"no setup {setup!r}")
    return {**values, "article_id": found.pk}


def _playbooks_setup(world: World) -> dict[str, int]:
    """The shipped templates; the malware checklist on the ticket; a sub-task and a
    remote session on it, all made by Carol through the playbooks services."""
    from soporte.playbooks import services as playbooks
    from soporte.playbooks.defaults import ensure_default_templates
    from soporte.playbooks.models import ChecklistTemplate

    carol = world.people["carol"]
    ensure_default_templates()
    templates = {t.key: t for t in ChecklistTemplate.objects.all()}
    checklist = playbooks.attach_checklist(
        world.ticket, templates["malware-removal"], acting_user=carol
    )
    task = playbooks.create_subtask(world.ticket, acting_user=carol, title="Order toner")
    session = playbooks.start_remote_session(
        world.ticket, acting_user=carol, tool="rdp", consent_by="Maria", consent_method="verbal"
    )
    return {
        "template_id": templates["malware-removal"].pk,
        "recovery_id": templates["data-recovery"].pk,
        "step_id": checklist.steps.first().pk,
        "task_id": task.pk,
        "session_id": session.pk,
    }


def _problems_setup(setup: str, world: World) -> dict[str, int]:
    """A problem recorded by Carol and a tracker (its requests never leave: jobs run only
    on commit, which these tests do not reach); linked to the ticket, or with a failed
    report, when asked."""
    from soporte.problems import services as problems
    from soporte.problems.models import BugReport, Tracker

    carol = world.people["carol"]
    tracker = Tracker.objects.create(
        name="Dev", kind="github", base_url="http://127.0.0.1:9", project="acme/app",
        token_env="SOPORTE_TEST_NO_SUCH_TOKEN", secret_env="SOPORTE_TEST_NO_SUCH_SECRET",
    )  # fmt: skip
    problem = problems.create_problem(acting_user=carol, title="Blank pages")
    values = {"problem_id": problem.pk, "tracker_id": tracker.pk}
    if setup == "problems linked":
        problems.link_ticket(problem, world.ticket, acting_user=carol)
    elif setup == "problems failed report":
        values["report_id"] = BugReport.objects.create(
            problem=problem, tracker=tracker, status="failed", attempts=1, last_error="503"
        ).pk
    return values


def _time_setup(setup: str, world: World, person: User | None) -> dict[str, int]:
    """Time entries by Alice and Carol, the caller's running timer (when they may have
    one), or a resolved ticket Maria rated, through the services."""
    from soporte.accounts import policy
    from soporte.tickets import satisfaction, timelog

    alice, carol, ticket = world.people["alice"], world.people["carol"], world.ticket
    if setup in ("time entries", "time Alice's entry", "time Carol's entry"):
        entries = {
            "time Alice's entry": timelog.log_time(ticket, acting_user=alice, seconds=600),
            "time Carol's entry": timelog.log_time(ticket, acting_user=carol, seconds=300),
        }
        return {"entry_id": entries[setup].pk} if setup in entries else {}
    if setup == "time timer":
        if person is not None and person.is_agent and policy.can_view(person, ticket):
            timelog.start_timer(ticket, acting_user=person)
        return {}
    if setup == "time rated":
        services.resolve(ticket, acting_user=carol, resolution="New toner.")
        survey = satisfaction.read_token(satisfaction.make_token(ticket))
        satisfaction.rate(survey, rating=4, comment="Fast")
        return {}
    raise AssertionError(f"no setup {setup!r}")


def _flows_setup(setup: str, world: World) -> dict:
    """A public flow (the shipped printer example) and an agents-only one, imported by
    Carol; Alice's run of the public one on the ticket (answered once when asked)."""
    from soporte.flows import services as flows
    from soporte.flows.demo import EXAMPLES

    alice, carol = world.people["alice"], world.people["carol"]
    public, _ = flows.import_flow(
        (EXAMPLES / "printer-not-printing.yaml").read_bytes(), acting_user=carol
    )
    internal, _ = flows.import_flow(
        FLOW_YAML.replace("slug: toner", "slug: toner-internal"), acting_user=carol
    )
    run = flows.start_run(public, acting_user=alice, ticket=world.ticket)
    if setup == "flows answered":
        flows.answer(run, acting_user=alice, choice=0)
    slug = internal.slug if setup == "flows agents-only" else public.slug
    return {"slug": slug, "run_id": run.pk}


def _triage_setup(setup: str, world: World) -> dict[str, int]:
    """Triage states (rows as the triage job writes them): a team suggestion offered on
    the ticket, the ticket flagged as a duplicate of the other, an open incident."""
    from django.utils import timezone

    from soporte.triage.models import DuplicateFlag, Incident, Suggestion

    ticket = world.ticket
    if setup == "triage suggestion":
        Suggestion.objects.create(
            ticket=ticket, field="team", value=str(ticket.team_id), label="Service Desk L1",
            confidence=0.5, model_version=1,
        )  # fmt: skip
        return {"field": "team"}
    if setup == "triage duplicate":
        DuplicateFlag.objects.create(ticket=ticket, original=world.other, similarity=0.9)
        return {}
    if setup == "triage incident":
        now = timezone.now()
        incident = Incident.objects.create(
            title="Mail down", reason="text", first_ticket_at=now, last_ticket_at=now
        )
        return {"incident_id": incident.pk}
    raise AssertionError(f"no setup {setup!r}")


def _evaluations_setup(setup: str, world: World) -> dict[str, int]:
    """Carol's evaluation of a laptop dock, planned; "testing": in testing with a
    compatibility result, an issue found and a feedback whose mail failed."""
    from soporte.assets.defaults import ensure_default_types
    from soporte.assets.models import AssetType
    from soporte.evaluations import services as evaluations
    from soporte.evaluations.models import Feedback, FeedbackMethod, FeedbackStatus

    carol = world.people["carol"]
    ensure_default_types()
    laptop = AssetType.objects.get(name="Laptop")
    evaluation = evaluations.create_evaluation(
        acting_user=carol, title="Dock", kind="hardware", asset_type=laptop, steps=["Charges"]
    )
    values = {"evaluation_id": evaluation.pk, "asset_type_id": laptop.pk}
    if setup == "evaluations testing":
        evaluations.start_testing(evaluation, acting_user=carol)
        result = evaluations.record_compatibility(
            evaluation, acting_user=carol, system_kind="asset_type", system_id=laptop.pk,
            result="compatible",
        )  # fmt: skip
        finding = evaluations.add_finding(evaluation, acting_user=carol, title="Hangs")
        feedback = Feedback.objects.create(
            evaluation=evaluation, method=FeedbackMethod.MAIL, to="v@example.org",
            subject="Dock", body="Hangs", status=FeedbackStatus.FAILED, recorded_by=carol,
        )  # fmt: skip
        values.update(
            step_id=evaluation.steps.get().pk, result_id=result.pk, finding_id=finding.pk,
            feedback_id=feedback.pk,
        )  # fmt: skip
    return values


def _training_setup(setup: str, world: World) -> dict[str, int]:
    """A course Carol made with a handout, and a session Alice trains next week with
    Maria invited; or, for "training past", one that took place, Maria present."""
    from datetime import timedelta

    from django.utils import timezone

    from soporte.training import services as training
    from soporte.training.models import Session

    alice, carol, maria = world.people["alice"], world.people["carol"], world.people["maria"]
    course = training.create_course(acting_user=carol, title="VPN basics")
    handout = training.add_course_file(
        course, acting_user=carol, upload=SimpleUploadedFile("vpn.txt", b"VPN"),
        filename="vpn.txt", size=3,
    )  # fmt: skip
    session = training.schedule_session(
        course, acting_user=carol, starts_at=timezone.now() + timedelta(days=7),
        duration_minutes=60, capacity=5, trainer=alice, place="Room 1",
    )  # fmt: skip
    training.invite(session, acting_user=carol, users=[maria])
    if setup == "training past":
        training.respond(session, acting_user=maria, accept=True)
        Session.objects.filter(pk=session.pk).update(starts_at=timezone.now() - timedelta(hours=3))
        session.refresh_from_db()
        training.take_attendance(session, acting_user=alice, present={maria.pk: True})
    return {"course_id": course.pk, "file_id": handout.pk, "session_id": session.pk,
            "maria_id": maria.pk}  # fmt: skip


def _send(client, call: Call, values: dict[str, int]):
    path = call.path.format(**values)
    if call.upload:
        return client.client.post(
            f"/api/v1{path}",
            {"file": SimpleUploadedFile("notes.txt", b"hello"), **(call.form or {})},
            headers=client.headers,
        )
    if call.method == "GET":
        return client.get(path)
    if call.method == "DELETE":
        return client.delete(path)
    body = _fill(call.body or {}, values)
    return getattr(client, call.method.lower())(path, body)


def _fill(value, values: dict[str, int]):
    """`{name}` strings, at any depth of the body, become the world's value."""
    if isinstance(value, str) and value.startswith("{"):
        return values[value[1:-1]]
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


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
