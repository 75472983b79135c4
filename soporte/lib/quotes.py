"""Split the text of an email into what is new and what is quoted history or signature,
so a page can fold the second part. Nothing is removed: the two parts, joined, are the
text exactly as given.
"""

from __future__ import annotations

import re

__all__ = ["split_quoted"]

# "On Mon, 4 Mar 2024 at 10:00, Maria <maria@acme.example> wrote:" (Gmail, Apple Mail,
# Thunderbird) and "El lun, 4 mar 2024 a las 10:00, Maria (<maria@acme.example>)
# escribió:"; mail clients wrap long ones, so the end may be up to two lines further.
_ATTRIBUTION_START = re.compile(r"^\s*(?:On|El|Le|Am|Em|Il)\s\S", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(
    r"(?:(?:wrote|escribi[óo]|a\s+[ée]crit|escreveu|ha\s+scritto)\s*|schrieb\b.*):\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{3,}\s*(?:original\s+message|mensaje\s+original|message\s+d'origine"
    r"|urspr[üu]ngliche\s+nachricht|mensagem\s+original)\s*-{3,}\s*$",
    re.IGNORECASE,
)
# Outlook puts the header of the message it answers above the history:
#   From: Maria <maria@acme.example>      De: Maria <maria@acme.example>
#   Sent: Monday, March 4, 2024 10:00     Enviado el: lunes, 4 de marzo de 2024 10:00
#   To: Support                           Para: Soporte
#   Subject: Printer                      Asunto: Impresora
# (in text made from HTML the names may be in *bold*).
_OUTLOOK_FROM = re.compile(r"^\s*\*?(?:From|De|Von)\s*:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_FIELD = re.compile(
    r"^\s*\*?(?:Sent|Date|Enviado(?:\s+el)?|Fecha|Gesendet|Datum|Envoy[ée])\s*:\*?\s*\S",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{20,}\s*$")
_SIGNATURE = re.compile(r"^--[ \t]?$")
# How far below the "From:" line Outlook's "Sent:" may be (To and Cc lines may wrap).
_OUTLOOK_WINDOW = 6


def split_quoted(text: str) -> tuple[str, str]:
    """(new text, quoted history and signature); new + quoted == text.

    1. History that Outlook-style clients put below a separator ("-----Original
       Message-----", "-----Mensaje original-----", a "From: ... Sent: ..." block) is
       folded from the separator down, whatever follows it.
    2. A signature (the last "-- " line above that) is folded with what follows it.
    3. Quoted lines (">") just above that are folded too, with the "On ... wrote:" /
       "El ... escribió:" line above them; replies written between quoted lines are
       new text followed by quotes, so they stay visible.
    Nothing is folded when that would leave no new text (a message that only forwards).
    """
    lines = text.splitlines(keepends=True)
    bare = [line.rstrip("\r\n") for line in lines]
    attribution = _attribution_lines(bare)
    cut = len(lines)

    for index in range(len(bare)):
        if _separator_at(bare, index):
            cut = index
            break

    for index in range(cut - 1, -1, -1):
        if _SIGNATURE.match(bare[index]):
            cut = index
            break

    # The run of quoted, attribution and blank lines just above the cut.
    start = cut
    while start > 0 and (
        not bare[start - 1].strip()
        or bare[start - 1].lstrip().startswith(">")
        or attribution[start - 1]
    ):
        start -= 1
    while start < cut and not bare[start].strip():
        start += 1  # blank lines stay above the fold
    if any(bare[i].lstrip().startswith(">") for i in range(start, cut)):
        cut = start

    if not "".join(lines[:cut]).strip():
        return text, ""
    position = sum(len(line) for line in lines[:cut])
    return text[:position], text[position:]


def _separator_at(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _ORIGINAL_MESSAGE.match(line):
        return True
    if _UNDERSCORES.match(line):
        following = next((s for s in lines[index + 1 : index + 3] if s.strip()), "")
        return bool(_OUTLOOK_FROM.match(following))
    if _OUTLOOK_FROM.match(line):
        window = lines[index + 1 : index + 1 + _OUTLOOK_WINDOW]
        return any(_OUTLOOK_FIELD.match(s) for s in window)
    return False


def _attribution_lines(lines: list[str]) -> list[bool]:
    """Which lines are part of an "On ... wrote:" line (possibly wrapped over three)."""
    marks = [False] * len(lines)
    for index, line in enumerate(lines):
        if not _ATTRIBUTION_START.match(line):
            continue
        for end in range(index, min(index + 3, len(lines))):
            if end > index and not lines[end].strip():
                break
            if _ATTRIBUTION_END.search(lines[end]):
                for i in range(index, end + 1):
                    marks[i] = True
                break
    return marks
