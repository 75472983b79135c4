"""Demo knowledge base: a printing guide in English and Spanish, an Acme-only article, an
internal runbook and a few frequent questions."""

from __future__ import annotations

from typing import Any

from soporte.tickets import demo

from . import services
from .models import Category, Section, Visibility

PRINTER_EN = """If every page comes out blank or jams:

1. Open **tray 2** and remove any torn paper.
2. Take the toner cartridge out, shake it gently, and put it back.
3. Print a test page from the printer's menu.

Still blank? Open a ticket and attach a photo of the status screen."""

PRINTER_ES = """Si todas las páginas salen en blanco o la impresora se atasca:

1. Abra la **bandeja 2** y retire el papel roto.
2. Saque el cartucho de tóner, agítelo con suavidad y vuelva a colocarlo.
3. Imprima una página de prueba desde el menú de la impresora.

¿Sigue saliendo en blanco? Abra un ticket y adjunte una foto de la pantalla de estado."""


@demo.register
def load(context: dict[str, Any]) -> None:
    people = context["people"]
    ana, publisher = people["ana"], people["supervisor"]
    hardware = Category.objects.create(name="Hardware and printing", position=10)
    printers = Section.objects.create(category=hardware, name="Printers")
    access = Category.objects.create(name="Accounts and access", position=20)
    passwords = Section.objects.create(category=access, name="Passwords")
    network = Category.objects.create(name="Network", position=30)
    vpn = Section.objects.create(category=network, name="VPN")

    def article(title, body, section, **fields):
        made = services.create_article(
            acting_user=ana, title=title, body=body, section=section, **fields
        )
        services.transition_article(made, acting_user=publisher, status="published")
        return made

    english = article("The printer prints blank pages", PRINTER_EN, printers,
                      visibility=Visibility.PUBLIC)  # fmt: skip
    spanish = services.create_translation(
        english, acting_user=ana, language="es",
        title="La impresora imprime páginas en blanco", body=PRINTER_ES,
    )  # fmt: skip
    services.transition_article(spanish, acting_user=publisher, status="published")
    article(
        "Reset your password",
        "Go to https://password.example/ and follow the steps. The new password needs "
        "12 characters or more.",
        passwords,
        visibility=Visibility.PUBLIC,
    )
    article(
        "Acme VPN profile",
        "Acme staff import the profile *Acme-Remote* from the company portal.",
        vpn,
        visibility=Visibility.ORGANIZATIONS,
        organizations=[context["orgs"]["acme"]],
    )
    article(
        "Runbook: VPN concentrator restart",
        "1. Announce the outage.\n2. `systemctl restart strongswan` on vpn-1, then vpn-2.",
        vpn,
        visibility=Visibility.AGENTS,
    )
    for question, answer, language, category in [
        ("How do I reset my password?", "Use https://password.example/ .", "en", access),
        ("¿Cómo restablezco mi contraseña?", "Use https://password.example/ .", "es", access),
        ("Why does the printer print blank pages?", "Usually the toner: shake it.", "en",
         hardware),
    ]:  # fmt: skip
        services.create_faq_entry(
            acting_user=publisher, category=category, question=question, answer=answer,
            language=language, published=True,
        )  # fmt: skip
