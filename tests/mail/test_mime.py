"""soporte.mail.mime: the subject we send decodes to the text, in words mail allows."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from django.core.mail import EmailMultiAlternatives

from soporte.mail.mime import Mail, encoded_subject

SUBJECTS = [
    "Portátil sin conexión a la red",
    "Impresora " + "atascada, papel arrugado y tóner agotado " * 6,
    "打印机坏了" * 20,
    "Pantalla 🙂 rota " * 10,
    "ñ" * 23,  # a word boundary falls in the middle of a two-byte character
]


def _sent_subject(mail) -> str:
    sent = message_from_bytes(mail.message().as_bytes(), policy=policy.default)
    return str(sent["Subject"])


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_subject_that_is_not_ascii_reads_back_the_same(subject):
    mail = Mail(subject=subject, body="Hola", from_email="a@x.org", to=["b@x.org"])
    assert _sent_subject(mail) == subject
    # Django's own encoding gives the reader the same words (its fold before a long
    # subject's first word even reads back as a leading space; ours does not).
    stock = EmailMultiAlternatives(subject=subject, body="", to=["b@x.org"])
    assert _sent_subject(stock).strip() == subject.strip()
    # The object keeps the text; only the MIME message carries the encoded words.
    assert mail.subject == subject


@pytest.mark.parametrize("subject", SUBJECTS)
def test_each_encoded_word_is_within_the_75_characters_rfc_2047_allows(subject):
    words = encoded_subject(subject).split(" ")
    assert len(words) > 0
    assert all(re.fullmatch(r"=\?utf-8\?b\?[A-Za-z0-9+/=]+\?=", word) for word in words)
    assert max(len(word) for word in words) <= 75 - len("Subject: ")


def test_ascii_subjects_and_line_breaks_are_left_to_django():
    assert encoded_subject("Printer jammed [#12]") == "Printer jammed [#12]"
    assert encoded_subject("Impresión\nBcc: x@evil.example") == "Impresión\nBcc: x@evil.example"
    mail = Mail(subject="Impresión\nBcc: x@evil.example", body="", to=["b@x.org"])
    from django.core.mail import BadHeaderError

    with pytest.raises(BadHeaderError):
        mail.message()
