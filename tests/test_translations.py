"""The Spanish catalog: every marked string translated, the compiled .mo in step with the
.po, and the pages and Python code actually speaking Spanish when asked to.

The completeness check extracts the strings afresh from a copy of the source, so it also
catches a string someone marked without running `make messages`.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.utils import translation
from django.utils.translation import gettext

import soporte
from soporte.accounts.models import Tier
from soporte.tickets.models import Status

PACKAGE = Path(soporte.__file__).resolve().parent
PO = PACKAGE / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$')


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file; just enough of the format for the checks below."""
    entries: list[Entry] = []
    entry = Entry()
    current: tuple[str, int] | None = None

    def flush() -> None:
        nonlocal entry, current
        if current is not None:
            entries.append(entry)
        entry, current = Entry(), None

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if line.startswith("|"):  # the previous msgid of an obsolete entry
                continue
        if line.startswith("#"):
            if current is not None and current[0] == "msgstr":
                flush()
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, quoted = match.groups()
            if current is not None and current[0] == "msgstr" and keyword != "msgstr":
                flush()
            entry.obsolete = entry.obsolete or obsolete
            current = (keyword, int(index or 0))
            value = ast.literal_eval(quoted)
        elif line.startswith('"') and current is not None:
            value = ast.literal_eval(line)
        else:
            raise ValueError(f"Unexpected line in a .po file: {raw!r}")
        keyword, index = current
        if keyword == "msgstr":
            entry.msgstr[index] = entry.msgstr.get(index, "") + value
        elif keyword == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + value
        elif keyword == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + value
        else:
            entry.msgid += value
    flush()
    return entries


def nplurals(entries: list[Entry]) -> int:
    header = next(e for e in entries if e.is_header)
    match = re.search(r"nplurals\s*=\s*(\d+)", header.msgstr.get(0, ""))
    assert match, "The catalog header has no Plural-Forms line."
    return int(match.group(1))


def problems_in(entries: list[Entry]) -> list[str]:
    """One line per fuzzy or untranslated entry; obsolete entries do not count."""
    live = [e for e in entries if not e.obsolete]
    plurals = nplurals(live)
    problems = []
    for e in live:
        if "fuzzy" in e.flags:
            problems.append(f"fuzzy: {e.msgid!r}" if e.msgid else "fuzzy: the header")
        elif e.is_header:
            continue
        elif e.msgid_plural is not None:
            if any(not e.msgstr.get(n) for n in range(plurals)):
                problems.append(f"untranslated plural: {e.msgid!r}")
        elif not e.msgstr.get(0):
            problems.append(f"untranslated: {e.msgid!r}")
    return problems


def test_the_parser_finds_untranslated_fuzzy_and_plural_entries():
    text = (
        'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Save"\nmsgstr "Guardar"\n\n'
        'msgid "Send"\nmsgstr ""\n\n'
        '#, fuzzy, python-format\n#| msgid "Hi %(name)s"\nmsgid "Hello %(name)s"\n'
        'msgstr "Hola %(name)s"\n\n'
        'msgid "one ticket"\nmsgid_plural "%(count)s tickets"\n'
        'msgstr[0] "un ticket"\nmsgstr[1] ""\n\n'
        '#~ msgid "Gone"\n#~ msgstr ""\n'
    )
    assert problems_in(parse_po(text)) == [
        "untranslated: 'Send'",
        "fuzzy: 'Hello %(name)s'",
        "untranslated plural: 'one ticket'",
    ]


def test_every_marked_string_has_a_checked_spanish_translation(tmp_path, monkeypatch):
    """Extracts the strings from a copy of the source, as `make messages` would, merging
    them into a copy of the catalog; the real soporte/locale stays untouched."""
    if not (shutil.which("xgettext") and shutil.which("msgmerge")):
        pytest.skip("GNU gettext (xgettext, msgmerge) is not installed")
    before = PO.read_bytes()
    copy = tmp_path / "soporte"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[str(copy / "locale")]):
        call_command("makemessages", locale=["es"], no_location=True, verbosity=0)
    monkeypatch.undo()

    extracted = (copy / "locale" / "es" / "LC_MESSAGES" / "django.po").read_text("utf-8")
    problems = problems_in(parse_po(extracted))
    assert PO.read_bytes() == before, "makemessages wrote to the real soporte/locale"
    assert not problems, (
        "Run `make messages` and translate these entries of "
        "soporte/locale/es/LC_MESSAGES/django.po:\n" + "\n".join(problems)
    )


def test_the_installed_mo_is_compiled_from_the_current_po(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (GNU gettext) is not installed, so the .mo cannot be rebuilt")
    if not MO.exists():
        pytest.fail(f"{MO} is missing: run `make` (it compiles the catalog on install)")
    fresh = tmp_path / "django.mo"
    done = subprocess.run(
        [msgfmt, "--check-format", "-o", str(fresh), str(PO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"msgfmt rejected the catalog:\n{done.stderr}"
    assert fresh.read_bytes() == MO.read_bytes(), (
        f"{MO} is older than the .po: run `make {MO.relative_to(PACKAGE.parent)}`"
    )


def test_python_strings_and_choices_are_translated_under_spanish():
    with translation.override("es"):
        assert gettext("Sign in") == "Iniciar sesión"
        assert gettext("Assign to me") == "Asignarme"
        assert str(Status.OPEN.label) == "Abierto"
        assert str(Status.RESOLVED.label) == "Resuelto"
        assert str(Tier.L1.label) == "Nivel 1 (junior)"
        moved = gettext("Ticket #%(number)s moved to %(team)s.")
        team = gettext("the unassigned queue")
        assert moved % {"number": 7, "team": team} == "El ticket #7 pasó a la cola sin asignar."
    with translation.override("en"):
        assert gettext("Sign in") == "Sign in"


def test_the_sign_in_link_email_is_written_in_spanish(maria):
    with translation.override("es"):
        body = render_to_string(
            "accounts/sign_in_link.txt", {"user": maria, "minutes": 15, "url": "https://x/"}
        )
        subject = render_to_string("accounts/sign_in_link_subject.txt")
    assert "Hola, Maria:" in body
    assert "durante 15 minutos" in body
    assert subject.strip() == "Su enlace de acceso a Soporte"


@pytest.mark.django_db
def test_a_spanish_browser_gets_a_spanish_sign_in_page():
    response = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="es">' in html
    assert '<h1 id="signin-title">Iniciar sesión</h1>' in html
    assert "Usuario o correo electrónico" in html


@pytest.mark.django_db
def test_an_english_browser_still_gets_english():
    html = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<h1 id="signin-title">Sign in</h1>' in html
    assert "Iniciar sesión" not in html


@pytest.mark.django_db
def test_alice_sees_her_ticket_page_in_spanish_when_she_prefers_it(alice, ticket):
    alice.language = "es"
    alice.save(update_fields=["language"])
    client = Client()
    client.force_login(alice)
    response = client.get(f"/desk/tickets/{ticket.number}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    for spanish in ("Conversación", "Asignarme", "Escalar", "Historial", "Nuevo"):
        assert spanish in html, spanish
    assert "Assign to me" not in html
