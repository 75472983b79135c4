"""Labelled synthetic tickets in English and Spanish, with injected storms, and the
evaluation `soporte triage-eval` prints: classifier accuracy and macro-F1 on held-out
(newest) tickets, storm precision, recall and detection delay. Seeded: the same seed
gives the same tickets and the same numbers."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import ml

# category -> (team, English issues, Spanish issues)
CATALOGUE: dict[str, tuple[str, list[str], list[str]]] = {
    "Network": (
        "Infrastructure",
        [
            "wifi keeps disconnecting",
            "cannot connect to the VPN",
            "network is very slow",
            "no internet at my desk",
            "the ethernet port does not work",
            "DNS errors on every site",
        ],
        [
            "el wifi se desconecta",
            "no puedo conectar a la VPN",
            "la red va muy lenta",
            "no tengo internet en mi puesto",
            "el puerto de red no funciona",
            "errores de DNS",
        ],
    ),
    "Printers": (
        "Service Desk",
        [
            "the printer jams on every page",
            "printer prints blank pages",
            "toner is empty",
            "cannot add the network printer",
            "scanner does not send to email",
        ],
        [
            "la impresora se atasca en cada hoja",
            "la impresora saca hojas en blanco",
            "se acabó el tóner",
            "no puedo añadir la impresora de red",
            "el escáner no envía correo",
        ],
    ),
    "Email": (
        "Service Desk",
        [
            "outlook does not sync my inbox",
            "cannot send email attachments",
            "mailbox is full",
            "emails go to the spam folder",
            "shared mailbox missing in outlook",
        ],
        [
            "outlook no sincroniza la bandeja",
            "no puedo enviar adjuntos por correo",
            "el buzón está lleno",
            "los correos llegan a spam",
            "falta el buzón compartido",
        ],
    ),
    "Accounts": (
        "Service Desk",
        [
            "I forgot my password",
            "my account is locked",
            "need access to the finance folder",
            "two factor code never arrives",
            "new employee needs an account",
        ],
        [
            "olvidé mi contraseña",
            "mi cuenta está bloqueada",
            "necesito acceso a la carpeta",
            "no llega el código de doble factor",
            "alta de usuario para un empleado nuevo",
        ],
    ),
    "Hardware": (
        "Infrastructure",
        [
            "laptop screen is cracked",
            "keyboard keys stopped working",
            "battery does not charge",
            "monitor shows no signal",
            "the docking station is dead",
        ],
        [
            "la pantalla del portátil está rota",
            "el teclado dejó de funcionar",
            "la batería no carga",
            "el monitor no tiene señal",
            "la base del portátil no va",
        ],
    ),
    "Software": (
        "Applications",
        [
            "excel crashes when opening files",
            "please install visual studio",
            "the ERP shows an error on login",
            "teams freezes during calls",
            "license expired for photoshop",
        ],
        [
            "excel se cierra al abrir archivos",
            "instalar visual studio por favor",
            "el ERP da error al entrar",
            "teams se congela en llamadas",
            "caducó la licencia",
        ],
    ),
}
PRIORITY_WORDS = {
    "P1": (
        ["the whole office is down", "production is stopped", "nobody can work"],
        ["toda la oficina está parada", "la producción está detenida", "nadie puede trabajar"],
    ),
    "P2": (
        ["urgent, I have a deadline today", "this blocks my work", "client meeting soon"],
        ["urgente, tengo una entrega hoy", "esto bloquea mi trabajo", "reunión con cliente"],
    ),
    "P3": (
        ["", "it started this morning", "it happens sometimes"],
        ["", "empezó esta mañana", "pasa a veces"],
    ),
    "P4": (
        ["no rush, when you have time", "just a question", "low priority request"],
        ["sin prisa, cuando puedan", "solo una consulta", "petición de baja prioridad"],
    ),
}
FILLER = (
    ["Hello,", "Hi team,", "Good morning,", "Please help.", "Thanks!", "Regards,"],
    ["Hola,", "Buenos días,", "Por favor ayuda.", "Gracias.", "Saludos,", "Un saludo,"],
)
# Storms: one failure many people report at once, in their own words.
STORMS = (
    (
        [
            "email server is down",
            "cannot reach the email server",
            "email not working for anyone",
            "the email server gives a timeout",
        ],
        [
            "el servidor de correo está caído",
            "no conecta con el servidor de correo",
            "el correo no funciona para nadie",
            "el servidor de correo da timeout",
        ],
        "Email",
    ),
    (
        [
            "VPN gateway down, cannot log in remotely",
            "VPN gateway refuses every login",
            "remote VPN gateway is not responding",
        ],
        [
            "la pasarela VPN está caída",
            "la pasarela VPN rechaza el acceso",
            "la pasarela VPN remota no responde",
        ],
        "Network",
    ),
    (
        [
            "ERP login error for the whole team",
            "the ERP is down with a login error",
            "ERP login page shows error 500",
        ],
        [
            "el ERP da error de acceso a todo el equipo",
            "el ERP está caído con error de acceso",
            "la página de acceso del ERP da error 500",
        ],
        "Software",
    ),
)


@dataclass
class Generated:
    id: int
    at: datetime
    language: str
    subject: str
    body: str
    category: str
    priority: str
    team: str
    storm: int | None  # index of the injected storm, or None

    @property
    def text(self) -> str:
        return ml.ticket_text(self.subject, self.body)


def generate(
    count: int = 1500, *, seed: int = 7, storms: int = 6, days: int = 10, noise: float = 0.08
) -> list[Generated]:
    """`count` background tickets over `days`, plus `storms` bursts of 6-10 tickets
    within 20 minutes; oldest first. A `noise` share gets a wrong label, as real history
    does."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    rows: list[Generated] = []
    categories = list(CATALOGUE)
    priorities = ["P1", "P2", "P3", "P3", "P3", "P4", "P4"]
    for _ in range(count):
        at = start + timedelta(seconds=rng.uniform(0, days * 86400))
        rows.append(_ticket(rng, at, rng.choice(categories), rng.choice(priorities), noise))
    for number in range(storms):
        en, es, category = STORMS[number % len(STORMS)]
        first = start + timedelta(days=rng.uniform(0.5, days - 0.5))
        # An outage hits one office first: most reports come in its language.
        local, other = rng.sample(ml.LANGUAGES, 2)
        for _ in range(rng.randint(6, 10)):
            at = first + timedelta(minutes=rng.uniform(0, 20))
            language = local if rng.random() < 0.85 else other
            issue = rng.choice(en if language == "en" else es)
            team = CATALOGUE[category][0]
            body = f"{rng.choice(FILLER[language == 'es'])} {issue}."
            rows.append(Generated(0, at, language, issue, body, category, "P1", team, number))
    rows.sort(key=lambda r: r.at)
    for index, row in enumerate(rows, start=1):
        row.id = index
    return rows


def _ticket(rng: random.Random, at: datetime, category: str, priority: str, noise: float):
    language = rng.choice(ml.LANGUAGES)
    spanish = language == "es"
    team, en, es = CATALOGUE[category]
    issue = rng.choice(es if spanish else en)
    urgency = rng.choice(PRIORITY_WORDS[priority][spanish])
    other = rng.choice(es if spanish else en)
    body = " ".join(
        part
        for part in (rng.choice(FILLER[spanish]), f"{issue}.", urgency, rng.choice(FILLER[spanish]))
        if part
    )
    if rng.random() < 0.3:
        body += f" {other}."
    if rng.random() < noise:
        category = rng.choice(list(CATALOGUE))
    if rng.random() < noise:
        priority = rng.choice(list(PRIORITY_WORDS))
    if rng.random() < noise:
        team = rng.choice(["Service Desk", "Infrastructure", "Applications"])
    return Generated(0, at, language, issue.capitalize(), body, category, priority, team, None)


def samples(rows: list[Generated]) -> list[ml.Sample]:
    return [
        ml.Sample(r.language, r.text, {"category": r.category, "priority": r.priority,
                                       "team": r.team})
        for r in rows
    ]  # fmt: skip


def evaluate(
    rows: list[Generated], rules: ml.StormRules | None = None, *, seed: int = 0
) -> dict[str, Any]:
    """Train on the older tickets, measure on the newest; replay the stream through the
    storm detector. Returns {"classifier": metrics, "storms": {...}}."""
    _bundle, metrics = ml.train(samples(rows), ml_fields(), seed=seed)
    return {"classifier": metrics, "storms": storm_scores(rows, rules or ml.StormRules())}


def ml_fields() -> tuple[str, ...]:
    return ("category", "priority", "team")


def storm_scores(rows: list[Generated], rules: ml.StormRules) -> dict[str, Any]:
    """Precision: detected incidents whose tickets are mostly one injected storm. Recall:
    injected storms with such an incident. Delay: minutes from a storm's first ticket to
    its detection."""
    arrivals = [ml.Arrival(r.id, r.at, r.text, category="") for r in rows]
    found = ml.track(arrivals, rules)
    by_id = {r.id: r for r in rows}
    injected = {r.storm for r in rows if r.storm is not None}
    first = {s: min(r.at for r in rows if r.storm == s) for s in injected}
    hits: dict[int, float] = {}
    true = 0
    for incident in found:
        storms = Counter(by_id[a.id].storm for a in incident.members)
        storm, members = storms.most_common(1)[0]
        if storm is not None and members * 2 > len(incident.members):
            true += 1
            delay = (incident.detected_at - first[storm]).total_seconds() / 60
            hits[storm] = min(hits.get(storm, delay), delay)
    delays = sorted(hits.values())
    return {
        "injected": len(injected),
        "detected": len(found),
        "precision": round(true / len(found), 4) if found else 1.0,
        "recall": round(len(hits) / len(injected), 4) if injected else 1.0,
        "delay_minutes_mean": round(sum(delays) / len(delays), 2) if delays else None,
        "delay_minutes_max": round(delays[-1], 2) if delays else None,
    }
