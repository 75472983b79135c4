"""The acknowledgement's templates write out base.html's layout and the greeting (it goes
out for nearly every new ticket, and rendering it that way costs a quarter less): they
must render exactly as the shared templates would."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.template import engines
from django.template.loader import render_to_string
from django.utils import translation

# ack.html and ack.txt as they would be written with the shared templates.
SHARED_HTML = """{% extends "mail/base.html" %}{% load i18n %}
{% block content %}{% include "mail/_greeting.html" %}
<p>{% blocktranslate with number=ticket.number %}We received your request and opened ticket #{{ number }}. We will answer you by email.{% endblocktranslate %}</p>
<p><strong>{% translate "Subject:" %}</strong> {{ ticket.subject }}</p>
<p>{% translate "To add information, reply to this email and keep the ticket number in the subject." %}</p>
{% endblock %}
"""  # noqa: E501
SHARED_TEXT = """{% load i18n %}{% autoescape off %}{% include "mail/_greeting.txt" %}
{% blocktranslate with number=ticket.number %}We received your request and opened ticket #{{ number }}. We will answer you by email.{% endblocktranslate %}

{% translate "Subject:" %} {{ ticket.subject }}

{% translate "To add information, reply to this email and keep the ticket number in the subject." %}

{% translate "View the ticket online:" %} {{ link }}{% endautoescape %}
"""  # noqa: E501


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("name", ["", "María <Ñúñez> & Co"])
@pytest.mark.parametrize(("extension", "shared"), [("html", SHARED_HTML), ("txt", SHARED_TEXT)])
def test_the_acknowledgement_renders_as_the_shared_templates_would(
    language, name, extension, shared
):
    subject = 'Impresora <rota> & "atascada"'
    context = {
        "ticket": SimpleNamespace(number=1234, subject=subject),
        "subject": f"[#1234] {subject}",
        "name": name,
        "link": "https://help.example/portal/tickets/1234/?a=1&b=2",
    }
    with translation.override(language):
        written_out = render_to_string(f"mail/ack.{extension}", context)
        expected = engines["django"].from_string(shared).render(context)
    assert written_out == expected
    assert ("Hola" in written_out) == (language == "es")
