"""A varied, reproducible corpus of inbound mail for the ingestion benchmark (stdlib
only, so the peer's venv can read the same files): new requests and replies to them,
plain and HTML, several charsets, with and without attachments, sizes from 300 B to
~60 KB."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

WORDS = (
    "printer impresora vpn contraseña password laptop portátil screen pantalla error "
    "network red email correo acceso access report informe slow lento crash fallo update "
    "actualización server servidor disk disco backup copia license licencia"
).split()
CHARSETS = ["utf-8", "utf-8", "utf-8", "iso-8859-1", "windows-1252", "iso-8859-15"]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PDF = b"%PDF-1.4\n" + b"0 obj << /Type /Page >> endobj\n" * 400 + b"%%EOF\n"


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def generate(count: int, folder: Path, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    senders = [f"user{i}@company{i % 40}.example" for i in range(800)]
    threads: list[tuple[str, str, str]] = []  # (message id, subject, sender)
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    paths = []
    for i in range(count):
        message = EmailMessage()
        is_reply = threads and rng.random() < 0.4
        if is_reply:
            parent_id, subject, sender = rng.choice(threads)
            message["Subject"] = rng.choice(["Re: ", "RE: ", "AW: ", "RV: "]) + subject
            message["In-Reply-To"] = parent_id
            message["References"] = parent_id
        else:
            sender = rng.choice(senders)
            subject = sentence(rng, rng.randint(3, 8))[:-1]
            message["Subject"] = subject
        message["From"] = f"User {i % 800} <{sender}>"
        message["To"] = "support@soporte.example"
        message["Date"] = format_datetime(start + timedelta(seconds=37 * i))
        msgid = make_msgid(idstring=str(i), domain=sender.split("@")[1])
        message["Message-ID"] = msgid
        body = "\n\n".join(sentence(rng, rng.randint(8, 40)) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.3:
            body += "\n\n" + "\n".join("> " + sentence(rng, 10) for _ in range(rng.randint(3, 30)))
        charset = rng.choice(CHARSETS)
        message.set_content(body, charset=charset)
        if rng.random() < 0.35:
            html = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
            message.add_alternative(f"<html><body>{html}</body></html>", subtype="html")
        if rng.random() < 0.2:
            payload, maintype, subtype, name = rng.choice(
                [(PNG, "image", "png", "screen.png"), (PDF, "application", "pdf", "report.pdf")]
            )
            message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
        if not is_reply:
            threads.append((msgid, subject, sender))
        path = folder / f"{i:06d}.eml"
        path.write_bytes(message.as_bytes())
        paths.append(path)
    return paths
