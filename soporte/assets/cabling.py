"""Ports, patch cords, permanent links and their certification.

The chain a trace follows: a device's port -(patch cord)- a wall outlet's port
=(permanent link, certified)= a patch panel port -(patch cord)- a switch port.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from soporte.accounts.models import User
from soporte.lib.errors import InvalidInput, NotFound

from . import policy
from .models import (
    Asset,
    CableCategory,
    CableLink,
    CableStandard,
    Certification,
    EventKind,
    Kind,
    Port,
)
from .services import History, display

PASSIVE = frozenset({Kind.WALL_OUTLET, Kind.PATCH_PANEL})
MAX_HOPS = 12
MAX_REPORT_BYTES = 20 * 1024 * 1024


def clean_port_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 50 or "\x00" in name:
        raise InvalidInput(_("A port name has 1 to 50 characters."))
    return name


def get_port(asset: Asset, name: str) -> Port:
    """The asset's port of that name, created when new."""
    port, _created = Port.objects.get_or_create(asset=asset, name=clean_port_name(name))
    return port


@transaction.atomic
def patch(a: Port, b: Port, *, acting_user: User) -> None:
    """A patch cord between two free ports of different assets."""
    policy.require_edit(acting_user, a.asset)
    a, b = (Port.objects.select_for_update().select_related("asset").get(pk=p.pk) for p in (a, b))
    if a.asset_id == b.asset_id:
        raise InvalidInput(_("A patch cord joins two different assets."))
    for port, other in ((a, b), (b, a)):
        if port.patched_to_id not in (None, other.pk):
            raise InvalidInput(
                _("%(port)s is already patched to %(other)s; unplug it first.")
                % {"port": port, "other": port.patched_to}
            )
    if a.patched_to_id == b.pk:
        return
    a.patched_to, b.patched_to = b, a
    a.save(update_fields=["patched_to"])
    b.save(update_fields=["patched_to"])
    history = History(acting_user)
    history.record(a.asset, EventKind.CONNECTED, field=a.name, new=str(b))
    history.record(b.asset, EventKind.CONNECTED, field=b.name, new=str(a))
    history.save()


@transaction.atomic
def unpatch(port: Port, *, acting_user: User) -> None:
    policy.require_edit(acting_user, port.asset)
    port = Port.objects.select_for_update().select_related("asset").get(pk=port.pk)
    other = port.patched_to
    if other is None:
        raise InvalidInput(_("%(port)s is not patched.") % {"port": port})
    Port.objects.filter(pk__in=[port.pk, other.pk]).update(patched_to=None)
    history = History(acting_user)
    history.record(port.asset, EventKind.DISCONNECTED, field=port.name, old=str(other))
    history.record(other.asset, EventKind.DISCONNECTED, field=other.name, old=str(port))
    history.save()


def _link_peer(port: Port) -> Port | None:
    link = CableLink.objects.filter(Q(outlet_port=port) | Q(panel_port=port)).first()
    if link is None:
        return None
    peer_id = link.panel_port_id if link.outlet_port_id == port.pk else link.outlet_port_id
    return Port.objects.select_related("asset").get(pk=peer_id)


@dataclass
class Hop:
    port: Port
    via: str  # "" for the start, "patch" or "link" for how it was reached
    link: CableLink | None = None


def trace(port: Port) -> list[Hop]:
    """The chain from a port: patch cords and permanent links alternate through outlets
    and panels until an active device (or a loose end)."""
    port = Port.objects.select_related("asset").get(pk=port.pk)  # as stored now
    hops = [Hop(port, "")]
    seen = {port.pk}
    current = port
    via_patch_next = True
    for _step in range(MAX_HOPS):
        if via_patch_next:
            nxt = (
                Port.objects.select_related("asset").filter(pk=current.patched_to_id).first()
                if current.patched_to_id
                else None
            )
            via = "patch"
            link = None
        else:
            link = CableLink.objects.filter(Q(outlet_port=current) | Q(panel_port=current)).first()
            nxt = _link_peer(current) if link else None
            via = "link"
        if nxt is None or nxt.pk in seen:
            break
        hops.append(Hop(nxt, via, link))
        seen.add(nxt.pk)
        current = nxt
        if nxt.asset.kind not in PASSIVE:
            break
        via_patch_next = not via_patch_next
    return hops


def traces(asset: Asset) -> list[list[Hop]]:
    """A trace from each of the asset's ports."""
    return [trace(port) for port in Port.objects.filter(asset=asset)]


# -- links and certifications ------------------------------------------------------------


def parse_category(value: str) -> str:
    text = (value or "").strip().lower().replace(" ", "").replace("-", "")
    if text in ("fibre", "fiber", "optical") or text.startswith(("om", "os", "fib")):
        return CableCategory.FIBRE
    for choice in (CableCategory.CAT6A, CableCategory.CAT5E, CableCategory.CAT6):
        if text.startswith(choice.value) or text == choice.value:
            return choice.value
    raise ValueError(_("unknown cable category %(value)r (Cat5e, Cat6, Cat6A, fibre)") % {
        "value": value[:40]})  # fmt: skip


def parse_standard(value: str) -> str:
    text = (value or "").strip().lower()
    if text in CableStandard.values:
        return text
    if "tia" in text or "568" in text:
        return CableStandard.TIA_568
    if "iso" in text or "11801" in text or "class" in text:
        compact = text.replace(" ", "")
        for suffix, choice in (
            ("classfa", CableStandard.ISO_FA), ("classea", CableStandard.ISO_EA),
            ("classf", CableStandard.ISO_F), ("classe", CableStandard.ISO_E),
            ("classd", CableStandard.ISO_D), ("of", CableStandard.ISO_OF),
        ):  # fmt: skip
            if suffix in compact:
                return choice
    raise ValueError(
        _("unknown standard %(value)r (TIA-568 or ISO/IEC 11801 Class D, E, EA, F, FA)")
        % {"value": value[:40]}
    )


def parse_result(value: str) -> bool:
    text = (value or "").strip().upper().rstrip("*")
    if text in ("PASS", "PASSED", "OK", "P"):
        return True
    if text in ("FAIL", "FAILED", "F"):
        return False
    raise ValueError(_("the result is PASS or FAIL, not %(value)r") % {"value": value[:20]})


def parse_decimal(value: str, *, low: float = -999, high: float = 9999) -> Decimal | None:
    text = (value or "").strip().replace(",", ".")
    if not text or text in ("-", "N/A", "n/a"):
        return None
    for unit in ("dB", "db", "m"):
        text = text.removesuffix(unit).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("%(value)r is not a number") % {"value": value[:20]}) from None
    if not number.is_finite() or not low <= number <= high:
        raise ValueError(_("%(value)r is out of range") % {"value": value[:20]})
    return number.quantize(Decimal("0.01"))


def parse_day(value: str) -> date:
    """YYYY-MM-DD (a time after it is ignored), or DD/MM/YYYY."""
    text = (value or "").strip()
    try:
        day = parse_date(text[:10])
    except ValueError:
        day = None
    if day is None:
        try:
            day = datetime.strptime(text.split(" ")[0], "%d/%m/%Y").date()
        except ValueError:
            raise ValueError(
                _("%(value)r is not a date (YYYY-MM-DD)") % {"value": value[:30]}
            ) from None
    if not 1980 <= day.year <= 2200:
        raise ValueError(_("%(value)r is out of range") % {"value": value[:30]})
    return day


# The certifier's column names (lower-cased) for each field: LinkWare-style exports and
# Soporte's own.
COLUMNS = {
    "link_id": ("link_id", "link id", "cable id", "cable_id", "id"),
    "from": ("from", "outlet", "end 1", "from (outlet)"),
    "to": ("to", "panel_port", "panel port", "end 2", "to (panel port)"),
    "category": ("category", "cable type", "cable category"),
    "standard": ("standard", "test limit", "limit"),
    "length_m": ("length_m", "length (m)", "length"),
    "tested_on": ("test_date", "tested_on", "date", "date / time", "date/time"),
    "technician": ("technician", "operator"),
    "tester_model": ("tester_model", "tester", "tester model", "main unit"),
    "result": ("result", "overall result", "pass/fail"),
    "next": ("next_margin_db", "next margin (db)", "next margin", "next"),
    "insertion_loss": (
        "insertion_loss_margin_db", "insertion loss margin (db)", "insertion loss margin",
        "il margin",
    ),
    "return_loss": (
        "return_loss_margin_db", "return loss margin (db)", "return loss margin", "rl margin",
    ),
}  # fmt: skip
REQUIRED = ("link_id", "from", "to", "category", "standard", "tested_on", "result")


@dataclass
class Row:
    number: int
    values: dict[str, Any]


def _endpoint(text: str, kind: str, assets: dict[str, Asset]) -> tuple[Asset, str]:
    tag, sep, port = (text or "").strip().rpartition(":")
    if not sep or not tag or not port:
        raise ValueError(_("%(value)r is not TAG:PORT") % {"value": text[:60]})
    asset = assets.get(tag)
    if asset is None:
        raise ValueError(_("no asset tagged %(tag)s") % {"tag": tag[:64]})
    if asset.kind != kind:
        raise ValueError(
            _("%(tag)s is a %(kind)s, not a %(wanted)s")
            % {"tag": tag, "kind": Kind(asset.kind).label, "wanted": Kind(kind).label}
        )
    clean_port_name(port)
    return asset, port.strip()


def check_certifications(content: str, progress=None) -> tuple[list[Row], list[dict]]:
    """Parse and validate a certifier's CSV export: (rows, errors). Pure reads."""
    errors: list[dict] = []
    reader = csv.reader(io.StringIO(content))
    header = next(reader, None)
    if not header:
        return [], [{"row": 1, "column": "", "message": _("The file is empty.")}]
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    index: dict[str, int] = {}
    for field, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in names:
                index[field] = names.index(alias)
                break
    missing = [field for field in REQUIRED if field not in index]
    if missing:
        return [], [
            {"row": 1, "column": field, "message": _("This column is missing.")}
            for field in missing
        ]
    lines = list(reader)
    tags = set()
    for line in lines:
        for field in ("from", "to"):
            cell = line[index[field]] if index[field] < len(line) else ""
            tags.add(cell.strip().rpartition(":")[0])
    assets = {a.tag: a for a in Asset.objects.filter(tag__in=tags)}
    rows = []
    seen: dict[tuple, int] = {}
    for number, line in enumerate(lines, start=2):
        if not any(cell.strip() for cell in line):
            continue
        cell = {f: (line[i] if i < len(line) else "").strip() for f, i in index.items()}
        values: dict[str, Any] = {}
        row_errors = []

        def parse(
            field: str, parser, cell=cell, values=values, row_errors=row_errors, number=number
        ):
            try:
                values[field] = parser(cell.get(field, ""))
            except ValueError as error:
                row_errors.append({"row": number, "column": field, "message": str(error)})

        link_id = cell["link_id"]
        if not link_id or len(link_id) > 64 or "\x00" in link_id:
            row_errors.append(
                {"row": number, "column": "link_id", "message": _("1 to 64 characters.")}
            )
        values["link_id"] = link_id
        parse("from", lambda v: _endpoint(v, Kind.WALL_OUTLET, assets))
        parse("to", lambda v: _endpoint(v, Kind.PATCH_PANEL, assets))
        parse("category", parse_category)
        parse("standard", parse_standard)
        parse("length_m", lambda v: parse_decimal(v, low=0, high=99999))
        parse("tested_on", parse_day)
        parse("result", parse_result)
        for margin in ("next", "insertion_loss", "return_loss"):
            parse(margin, parse_decimal)
        for field in ("technician", "tester_model"):
            text = cell.get(field, "")
            if len(text) > 100 or "\x00" in text:
                row_errors.append(
                    {"row": number, "column": field, "message": _("At most 100 characters.")}
                )
            values[field] = text
        key = (link_id, values.get("tested_on"))
        if not row_errors and key in seen:
            row_errors.append(
                {
                    "row": number,
                    "column": "link_id",
                    "message": _("Link %(link)s tested that day already on row %(row)s.")
                    % {"link": link_id, "row": seen[key]},
                }
            )
        seen.setdefault(key, number)
        errors.extend(row_errors)
        if not row_errors:
            rows.append(Row(number, values))
        if progress is not None:
            progress(number - 1, len(lines))
    if not rows and not errors:
        errors.append({"row": 2, "column": "", "message": _("The file has no rows.")})
    _check_link_ports(rows, errors)
    return rows, errors


def _check_link_ports(rows: list[Row], errors: list[dict]) -> None:
    """A known link keeps its two ends; a port belongs to one link."""
    ids = {row.values["link_id"] for row in rows}
    known = {
        link.link_id: link
        for link in CableLink.objects.filter(link_id__in=ids).select_related(
            "outlet_port", "panel_port"
        )
    }
    ends: dict[tuple[int, str], str] = {}
    for row in rows:
        values = row.values
        (outlet, outlet_port), (panel, panel_port) = values["from"], values["to"]
        link = known.get(values["link_id"])
        if link is not None and (
            (link.outlet_port.asset_id, link.outlet_port.name) != (outlet.pk, outlet_port)
            or (link.panel_port.asset_id, link.panel_port.name) != (panel.pk, panel_port)
        ):
            errors.append(
                {"row": row.number, "column": "from",
                 "message": _("Link %(link)s runs from %(a)s to %(b)s, not as this row says.")
                 % {"link": link.link_id, "a": link.outlet_port, "b": link.panel_port}}
            )  # fmt: skip
        for end in ((outlet.pk, outlet_port), (panel.pk, panel_port)):
            owner = ends.setdefault(end, values["link_id"])
            if owner != values["link_id"]:
                errors.append(
                    {"row": row.number, "column": "from",
                     "message": _("A port is the end of links %(a)s and %(b)s.")
                     % {"a": owner, "b": values["link_id"]}}
                )  # fmt: skip
    used = Port.objects.filter(
        Q(outlet_link__isnull=False) | Q(panel_link__isnull=False),
    ).filter(
        Q(asset_id__in={v.values["from"][0].pk for v in rows})
        | Q(asset_id__in={v.values["to"][0].pk for v in rows})
    )
    taken = {}
    for port in used.select_related("outlet_link", "panel_link"):
        link = getattr(port, "outlet_link", None) or getattr(port, "panel_link", None)
        if link is not None:
            taken[(port.asset_id, port.name)] = link.link_id
    for row in rows:
        for end in (row.values["from"], row.values["to"]):
            owner = taken.get((end[0].pk, end[1]))
            if owner and owner != row.values["link_id"]:
                errors.append(
                    {"row": row.number, "column": "from",
                     "message": _("Port %(tag)s:%(port)s is the end of link %(link)s already.")
                     % {"tag": end[0].tag, "port": end[1], "link": owner}}
                )  # fmt: skip


def save_certifications(rows: list[Row], *, acting_user: User | None) -> tuple[int, int]:
    """Write checked rows (inside the caller's transaction): (links created,
    certifications added). A certification already recorded is not added twice."""
    links_created = added = 0
    history = History(acting_user)
    for row in rows:
        v = row.values
        (outlet, outlet_name), (panel, panel_name) = v["from"], v["to"]
        link = CableLink.objects.filter(link_id=v["link_id"]).first()
        if link is None:
            link = CableLink.objects.create(
                link_id=v["link_id"],
                outlet_port=get_port(outlet, outlet_name),
                panel_port=get_port(panel, panel_name),
                category=v["category"],
                standard=v["standard"],
                length_m=v.get("length_m"),
            )
            links_created += 1
        else:
            CableLink.objects.filter(pk=link.pk).update(
                category=v["category"],
                standard=v["standard"],
                length_m=v.get("length_m") or link.length_m,
            )
        fields = {
            "tested_on": v["tested_on"],
            "technician": v["technician"],
            "tester_model": v["tester_model"],
            "passed": v["result"],
            "next_margin_db": v.get("next"),
            "insertion_loss_margin_db": v.get("insertion_loss"),
            "return_loss_margin_db": v.get("return_loss"),
        }
        if Certification.objects.filter(link=link, **fields).exists():
            continue
        Certification.objects.create(link=link, **fields)
        added += 1
        result = "PASS" if v["result"] else "FAIL"
        for asset in (outlet, panel):
            history.record(
                asset, EventKind.CERTIFIED, field=link.link_id,
                new=f"{result} {display(v['tested_on'])}",
            )  # fmt: skip
    history.save()
    return links_created, added


@transaction.atomic
def attach_report(certification: Certification, *, acting_user: User, upload: File) -> None:
    """The tester's own report (PDF, usually) for one certification."""
    policy.require_edit(acting_user)
    size = getattr(upload, "size", None) or 0
    if size > MAX_REPORT_BYTES:
        raise InvalidInput(_("The report is larger than 20 MB."))
    name = (getattr(upload, "name", "") or "report").rsplit("/", 1)[-1][:100] or "report"
    certification.report.save(name, upload, save=False)
    certification.save(update_fields=["report"])


def get_certification(certification_id: int) -> Certification:
    certification = Certification.objects.select_related("link").filter(pk=certification_id).first()
    if certification is None:
        raise NotFound(_("Certification %(id)s not found.") % {"id": certification_id})
    return certification


@dataclass
class LinkReport:
    failing: list[CableLink]
    never: list[CableLink]
    due: list[CableLink]


def report(today: date | None = None, limit: int = 1000) -> LinkReport:
    """Links whose last test failed, links never certified, and links whose last
    passing certification is older than CABLE_RECERTIFY_DAYS."""
    today = today or timezone.localdate()
    due_before = today - timedelta(days=settings.CABLE_RECERTIFY_DAYS)
    latest = Certification.objects.filter(link=OuterRef("pk")).order_by("-tested_on", "-id")
    links = (
        CableLink.objects.select_related("outlet_port__asset", "panel_port__asset")
        .annotate(
            last_tested=Subquery(latest.values("tested_on")[:1]),
            last_passed=Subquery(latest.values("passed")[:1]),
            tests=Count("certifications"),
        )
        .order_by("link_id")
    )
    failing = list(links.filter(last_passed=False)[:limit])
    never = list(links.filter(~Exists(Certification.objects.filter(link=OuterRef("pk"))))[:limit])
    due = list(links.filter(last_passed=True, last_tested__lt=due_before)[:limit])
    return LinkReport(failing, never, due)
