"""parse(): raw email bytes become a ParsedMail; real problem messages and built ones."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from soporte.mail.parse import MAX_ID_LENGTH, ParsedMail, ParseError, parse

from .messages import PDF, PNG, bounce, build, storage_problems

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "mail-samples"


def parsed(raw: bytes) -> ParsedMail:
    """parse(), and the result must be storable as it is."""
    mail = parse(raw)
    assert storage_problems(mail) == []
    assert mail.size == len(raw)
    return mail


# -- real messages that broke another help desk ------------------------------------------


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"the shared mail samples are not in {SAMPLES}")
    return path.read_bytes()


def test_all_special_chars_sample_decodes_a_base64_subject_and_an_8bit_utf8_body():
    mail = parsed(sample("all-special-chars.eml"))
    assert mail.subject == "Testovácí email"
    assert mail.text == "íářčšáíéřášč"
    assert (mail.from_name, mail.from_address) == ("Timothy Hobbs", "timothy.hobbs@auto-mat.cz")
    assert mail.message_id == "0fd7067e-2842-5b6c-3548-3cf7e6a1c9ea@auto-mat.cz"
    assert mail.date == datetime(2019, 3, 8, 22, 40, 4, tzinfo=UTC)
    assert mail.attachments == ()


def test_blank_body_sample_keeps_its_attachment_out_of_the_text():
    mail = parsed(sample("blank-body-with-attachment.eml"))
    assert mail.subject.startswith("Attachment without body - and a loooo")
    assert mail.subject.endswith("ooong subject")
    assert mail.text == ""
    [attachment] = mail.attachments
    assert (attachment.filename, attachment.content_type) == ("baf", "text/plain")
    assert attachment.payload == b"You shouldn't see this.\n"
    assert not attachment.inline


def test_forwarded_message_sample_keeps_the_forwarded_text_in_the_body():
    mail = parsed(sample("forwarded-message.eml"))
    assert mail.subject == "Test with original message from GitHub"
    assert mail.text.startswith("This is email body\n\n-----Original Message-----\n")
    assert "your application accessed the GitHub API with a token" in mail.text
    assert mail.attachments == ()


def test_pgp_sample_reads_the_signed_text_and_keeps_the_signature_as_an_attachment():
    mail = parsed(sample("pgp.eml"))
    assert mail.subject == "example email that crashes django-helpdesk get_email"
    assert mail.text.startswith("hi, thanks for looking into this :)")
    # A quoted-printable soft line break in the middle of the URL is undone.
    assert "issues/567#issuecomment-342954233" in mail.text
    [signature] = mail.attachments
    assert (signature.filename, signature.content_type) == (
        "signature.asc",
        "application/pgp-signature",
    )
    assert signature.payload.startswith(b"-----BEGIN PGP SIGNATURE-----")


def test_quoted_printable_sample_decodes_czech_text_in_both_alternatives():
    mail = parsed(sample("quoted_printable.eml"))
    assert mail.subject == "Český test"
    assert mail.text == "Tohle je test českých písmen odeslaných z gmailu."
    assert mail.html.startswith('<div dir="ltr">Tohle je test českých písmen odeslaných')
    assert mail.message_id == "CACf_UpPA7=DRF4NLFf4WpOVwHsRMtfNEwy1DHLjfh09DjuKZFA@mail.gmail.com"


def test_utf_nondecodable_sample_joins_a_subject_folded_between_two_encoded_words():
    mail = parsed(sample("utf-nondecodable.eml"))
    assert mail.subject == "Fwd: Cyklozaměstnavatel - změna vyhodnocení"
    assert "podle domluvy bych Tě poprosila o změnu vyhodnocení" in mail.text
    assert "kvalitní" in mail.html
    assert mail.in_reply_to == "CAK0Q_=uQY=3V5iUSgEN16GLtYoJ-6oQu-vYjsgQ=jv6DwOkuLQ@mail.gmail.com"
    assert mail.references == (mail.in_reply_to,)


# -- what is not an email -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"  \r\n\r\n\t",
        b"hello world, this is not an email",
        b"\x00\x01\x02\xff\xfe binary junk",
        b"\r\n\r\nFrom: maria@acme.example\r\n",  # a body, no header section
        b"X-Whatever: 1\r\nReceived: by mx\r\n\r\nno From, To, Subject, Date or id",
    ],
)
def test_bytes_that_are_not_an_email_raise_parse_error_with_a_reason(raw):
    with pytest.raises(ParseError) as caught:
        parse(raw)
    assert str(caught.value)


def test_a_message_with_only_a_subject_is_still_an_email():
    mail = parsed(b"Subject: hello\r\n\r\nbody")
    assert (mail.subject, mail.text, mail.from_address, mail.date) == ("hello", "body", "", None)


# -- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_subject", "expected"),
    [
        (b"=?UTF-8?B?w5FhbmTDuiBjYWbDqQ==?=", "Ñandú café"),
        (b"=?iso-8859-1?q?Caf=E9_con_leche?=", "Café con leche"),
        (b"=?windows-1252?Q?=93Impresora=94_rota_=80?=", "“Impresora” rota €"),
        (b"=?iso-8859-15?q?Precio_=A4?=", "Precio €"),
        # Words folded on several lines, whitespace between words dropped.
        (
            b"=?utf-8?q?Re:_Impresora?=\r\n =?utf-8?q?_rota?=\r\n\t=?utf-8?q?_otra_vez?=",
            "Re: Impresora rota otra vez",
        ),
        # A character split across two words (some mailers cut at a fixed byte count).
        (b"=?utf-8?q?Se=C3?= =?utf-8?q?=B1al?=", "Señal"),
        (b"=?utf-8?b?U2XD?= =?utf-8?b?sWFs?=", "Señal"),
        # A word labelled UTF-8 holding windows-1252.
        (b"=?utf-8?q?Caf=E9?=", "Café"),
        # An unknown charset, and one that is not a charset at all.
        (b"=?x-made-up?q?Caf=C3=A9?=", "Café"),
        (b"=?rot13?q?Caf=C3=A9?=", "Café"),
        # Broken base64 (no padding, a stray character).
        (b"=?utf-8?b?Q2Fmw6k?=", "Café"),
        (b"=?utf-8?b?Q2Fm!w6k=?=", "Café"),
        # Spaces inside a Q word (not allowed, sent anyway).
        (b"=?utf-8?q?Caf=C3=A9 con leche?=", "Café con leche"),
        # Raw 8-bit: UTF-8 (RFC 6532) and windows-1252 (no label at all).
        ("Señal perdida".encode(), "Señal perdida"),
        ("Señal perdida".encode("cp1252"), "Señal perdida"),
        # Unencoded and encoded text together.
        (b"Re: [#123] =?utf-8?q?Se=C3=B1al?= perdida", "Re: [#123] Señal perdida"),
        (b"  Printer\t\ton   fire  ", "Printer on fire"),
        (b"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
    ],
)
def test_subjects_are_decoded_whatever_the_sender_did(raw_subject, expected):
    mail = parsed(build(headers={"Subject": raw_subject}))
    assert mail.subject == expected


def test_a_missing_subject_is_empty():
    assert parsed(build(headers={"Subject": None})).subject == ""


def test_a_long_subject_folded_by_the_email_package_reads_as_one_line():
    subject = "Ñandú " * 40
    assert parsed(build(subject=subject)).subject == subject.strip()


def test_addresses_are_lower_cased_and_display_names_decoded():
    mail = parsed(
        build(
            sender="=?utf-8?q?Mar=C3=ADa_L=C3=B3pez?= <Maria.Lopez@ACME.example>",
            headers={
                "To": "Support <SUPPORT@soporte.example>, marco@acme.example",
                "Cc": '"Pérez, Pedro" <pedro@globex.example>, undisclosed-recipients:;',
                "Reply-To": "Helpdesk Acme <Tickets@Acme.example>",
            },
        )
    )
    assert (mail.from_name, mail.from_address) == ("María López", "maria.lopez@acme.example")
    assert mail.to == ("support@soporte.example", "marco@acme.example")
    assert mail.cc == ("pedro@globex.example",)
    assert mail.reply_to == "tickets@acme.example"


def test_a_raw_8bit_display_name_in_windows_1252_is_decoded():
    mail = parsed(build(headers={"From": "Jos\xe9 P\xe9rez <jose@acme.example>".encode("latin-1")}))
    assert (mail.from_name, mail.from_address) == ("José Pérez", "jose@acme.example")


def test_an_address_list_that_trips_policy_default_is_read_with_the_fallback():
    """policy.default raises IndexError on "bad@"; the valid addresses are still found."""
    mail = parsed(build(headers={"To": "=?utf-8?q?Jos=C3=A9?= <JOSE@Example.COM>, bad@"}))
    assert mail.to == ("jose@example.com",)


@pytest.mark.parametrize(
    "sender", ["", "not an address", "<>", "Maria <maria@>", "@acme.example", "undisclosed:;"]
)
def test_an_unusable_from_gives_an_empty_address(sender):
    mail = parsed(build(headers={"From": sender}))
    assert mail.from_address == ""


def test_without_from_the_sender_header_is_used():
    mail = parsed(build(headers={"From": None, "Sender": "Marco <marco@acme.example>"}))
    assert (mail.from_name, mail.from_address) == ("Marco", "marco@acme.example")


def test_message_ids_lose_their_brackets_and_keep_their_order():
    mail = parsed(
        build(
            message_id="<new.1@acme.example>",
            headers={
                "In-Reply-To": "<parent@soporte.example> (Maria's message of Monday)",
                "References": "<root@soporte.example>\r\n <parent@soporte.example>"
                "\r\n\t<root@soporte.example>",
            },
        )
    )
    assert mail.message_id == "new.1@acme.example"
    assert mail.in_reply_to == "parent@soporte.example"
    assert mail.references == ("root@soporte.example", "parent@soporte.example")


def test_message_ids_without_brackets_and_missing_ones():
    mail = parsed(build(headers={"Message-ID": "bare.id@acme.example", "In-Reply-To": ""}))
    assert (mail.message_id, mail.in_reply_to, mail.references) == ("bare.id@acme.example", "", ())
    assert parsed(build(headers={"Message-ID": None})).message_id == ""


def test_an_overlong_message_id_is_cut():
    long_id = "x" * 1000 + "@acme.example"
    mail = parsed(build(message_id=f"<{long_id}>", headers={"References": f"<{long_id}>"}))
    assert mail.message_id == long_id[:MAX_ID_LENGTH]
    assert mail.references == (long_id[:MAX_ID_LENGTH],)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 05 Mar 2024 10:00:00 +0100", datetime(2024, 3, 5, 9, 0, tzinfo=UTC)),
        ("5 Mar 2024 10:00 -0500 (EST)", datetime(2024, 3, 5, 15, 0, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:00:00 -0000", datetime(2024, 3, 5, 10, 0, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:00:00 GMT", datetime(2024, 3, 5, 10, 0, tzinfo=UTC)),
        ("yesterday", None),
        ("Tue, 05 Mar 2024 10:00:00 +9999", None),
        ("Tue, 99 Mar 2024 10:00:00 +0100", None),
    ],
)
def test_dates_are_aware_or_none(value, expected):
    mail = parsed(build(headers={"Date": value}))
    assert mail.date == expected
    assert mail.date is None or mail.date.utcoffset() is not None


# -- bodies, charsets and transfer encodings --------------------------------------------------


SPANISH = "Ñandú, cigüeña y pingüino: «¿qué pasó?» ¡Ay!"


@pytest.mark.parametrize("encoding", ["8bit", "quoted-printable", "base64"])
@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("utf-8", SPANISH + " 10 € “ok” 日本語"),
        ("iso-8859-1", SPANISH),
        ("iso-8859-15", SPANISH + " 10 €"),
        ("windows-1252", SPANISH + " 10 € “ok” – …"),
        ("koi8-r", "Принтер не печатает"),
        ("shift_jis", "プリンターが壊れました"),
    ],
)
def test_text_bodies_decode_in_every_charset_and_transfer_encoding(charset, text, encoding):
    mail = parsed(build(body=text, charset=charset, encoding=encoding))
    assert mail.text == text
    assert mail.html == ""


def test_a_7bit_ascii_body_is_kept_with_its_lines():
    mail = parsed(build(body="Line one\nLine two\n\n  indented\n", encoding="7bit"))
    assert mail.text == "Line one\nLine two\n\n  indented"


@pytest.mark.parametrize(
    ("payload", "label", "expected"),
    [
        # windows-1252 bytes labelled UTF-8 (Outlook and old webmails do this).
        ("Café “rápido” 10 €".encode("cp1252"), "utf-8", "Café “rápido” 10 €"),
        # UTF-8 bytes labelled Latin-1 or windows-1252.
        ("Café “rápido” 10 €".encode(), "iso-8859-1", "Café “rápido” 10 €"),
        ("Señal perdida".encode(), "windows-1252", "Señal perdida"),
        # No label, or an unknown one, on 8-bit text.
        ("Señal perdida".encode(), "x-made-up", "Señal perdida"),
        ("Señal perdida".encode("cp1252"), "", "Señal perdida"),
        # UTF-8 with one stray windows-1252 byte keeps all the rest.
        ("año ".encode() + b"\xe9t\xe9 " + "señal".encode(), "utf-8", "año été señal"),
        # A multi-byte label whose bytes do not fit it: the rest is kept.
        ("Señal perdida".encode("cp1252"), "euc-jp", None),
    ],
)
def test_mislabelled_text_is_decoded_without_losing_it(payload, label, expected):
    mail = parsed(build(body=payload, charset=label or "utf-8", encoding="8bit"))
    if expected is None:
        assert mail.text.startswith("Se") and mail.text.endswith("l perdida")
    else:
        assert mail.text == expected


def test_a_text_part_without_charset_reads_as_utf8_then_windows_1252():
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nSe\xc3\xb1al, caf\xe9\r\n"
    )
    assert parsed(raw).text == "Señal, café"


def test_a_message_without_content_type_is_plain_text():
    assert parsed(b"From: maria@acme.example\r\nSubject: x\r\n\r\nHola").text == "Hola"


def test_a_byte_order_mark_is_not_text():
    mail = parsed(build(body=b"\xef\xbb\xbfHola", charset="utf-8"))
    assert mail.text == "Hola"


def test_utf16_text_is_decoded():
    mail = parsed(build(body="Hola ñandú".encode("utf-16"), charset="utf-16", encoding="base64"))
    assert mail.text == "Hola ñandú"


def test_format_flowed_lines_are_joined():
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\n"
        b"Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
        b"This paragraph was wrapped \r\nby the mail client \r\nat 72 columns.\r\n\r\n"
        b"> A quoted line that was \r\n> wrapped too.\r\n \r\n-- \r\nMaria\r\n"
    )
    assert parsed(raw).text == (
        "This paragraph was wrapped by the mail client at 72 columns.\n\n"
        "> A quoted line that was wrapped too.\n\n-- \nMaria"
    )


def test_lines_end_in_newline_and_outer_blank_lines_go():
    mail = parsed(build(body="\r\n\r\nHola\r\nadiós\r\n\r\n  \r\n", encoding="base64"))
    assert mail.text == "Hola\nadiós"


def test_multipart_alternative_gives_the_text_and_the_sanitized_html():
    mail = parsed(
        build(
            body="Hello *Maria*",
            html="<html><head><title>Mail</title><style>p{color:red}</style></head><body>"
            '<p onclick="x()">Hello <b>Maria</b></p><script>alert(1)</script></body></html>',
        )
    )
    assert mail.text == "Hello *Maria*"
    assert mail.html == "<p>Hello <b>Maria</b></p>"


def test_an_html_only_message_gets_its_text_from_the_html():
    mail = parsed(
        build(
            body=None,
            html="<html><head><title>Newsletter</title></head><body><p>Hola</p>"
            "<p>Se&ntilde;al &amp; ruido<br>adi&oacute;s</p></body></html>",
            charset="iso-8859-1",
            encoding="quoted-printable",
        )
    )
    assert mail.text == "Hola\n\nSeñal & ruido\nadiós"
    assert "Newsletter" not in mail.text
    assert mail.html == "<p>Hola</p><p>Señal &amp; ruido<br>adiós</p>"


def test_an_empty_text_alternative_gives_way_to_the_html():
    mail = parsed(build(body="  \r\n", html="<p>Real content</p>"))
    assert mail.text == "Real content"


def test_html_without_charset_uses_its_meta_tag():
    html = '<html><head><meta charset="windows-1252"></head><body><p>“Hola”</p></body></html>'
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nContent-Type: text/html\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + html.encode("cp1252")
    )
    assert parsed(raw).html == "<p>“Hola”</p>"


def test_text_parts_around_an_inline_image_are_joined_in_order():
    """Apple Mail sends text, an image, and more text as three parts of a multipart/mixed."""
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBefore the photo.\r\n"
        b"--b\r\nContent-Type: image/png\r\nContent-Disposition: inline\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PNG) + b"\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAfter the photo.\r\n--b--\r\n"
    )
    mail = parsed(raw)
    assert mail.text == "Before the photo.\n\nAfter the photo."
    [image] = mail.attachments
    assert (image.filename, image.payload, image.inline) == ("image.png", PNG, False)


# -- attachments ------------------------------------------------------------------------------


def test_an_inline_image_referenced_by_cid_is_an_inline_attachment_and_the_html_keeps_its_src():
    mail = parsed(
        build(
            body="See the logo",
            html='<p>Logo: <img src="cid:logo.1@acme.example" alt="logo"></p>',
            attachments=[
                ("logo.png", PNG, "image/png", "logo.1@acme.example"),
                ("unused.png", PNG, "image/png", "unused@acme.example"),
                ("report.pdf", PDF, "application/pdf"),
            ],
        )
    )
    assert '<img src="cid:logo.1@acme.example" alt="logo">' in mail.html
    assert [(a.filename, a.content_type, a.content_id, a.inline) for a in mail.attachments] == [
        ("logo.png", "image/png", "logo.1@acme.example", True),
        # Not shown by the HTML, so listed with the other files.
        ("unused.png", "image/png", "unused@acme.example", False),
        ("report.pdf", "application/pdf", "", False),
    ]
    assert mail.attachments[0].payload == PNG
    assert mail.attachments[2].payload == PDF


def test_an_html_only_message_with_an_inline_image():
    mail = parsed(
        build(
            body=None, html='<img src="cid:a@b">', attachments=[("a.png", PNG, "image/png", "a@b")]
        )
    )
    [image] = mail.attachments
    assert image.inline and image.content_id == "a@b"
    assert mail.html == '<img src="cid:a@b">'


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Informe de situación.pdf", "Informe de situación.pdf"),  # RFC 2231, by the builder
        ("日本語のファイル.pdf", "日本語のファイル.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\maria\\Desktop\\factura.pdf", "factura.pdf"),
        ("nul\x00in name.pdf", "nulin name.pdf"),
    ],
)
def test_attachment_names_are_decoded_and_made_safe(name, expected):
    mail = parsed(build(attachments=[(name, PDF, "application/pdf")]))
    assert [a.filename for a in mail.attachments] == [expected]


@pytest.mark.parametrize(
    "disposition",
    [
        # RFC 2047 in a quoted parameter: not allowed, what Outlook and Gmail send.
        b'attachment; filename="=?utf-8?B?SW5mb3JtZSBkZSBzaXR1YWNpw7NuLnBkZg==?="',
        b'attachment; filename="=?iso-8859-1?Q?Informe_de_situaci=F3n=2Epdf?="',
        # RFC 2231, continued over several sections.
        b"attachment; filename*0*=utf-8''Informe%20de%20; filename*1*=situaci%C3%B3n; "
        b'filename*2=".pdf"',
        b"attachment; filename*=iso-8859-1'es'Informe%20de%20situaci%F3n.pdf",
        # RFC 2231 beats the plain name given beside it.
        b"attachment; filename=\"Informe.pdf\"; filename*=UTF-8''Informe%20de%20situaci%C3%B3n.pdf",
        # Raw 8-bit UTF-8.
        'attachment; filename="Informe de situación.pdf"'.encode(),
    ],
)
def test_encoded_attachment_names_in_every_form(disposition):
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: " + disposition + b"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PDF) + b"\r\n--b--\r\n"
    )
    mail = parsed(raw)
    assert mail.text == "See attached."
    assert [(a.filename, a.payload) for a in mail.attachments] == [
        ("Informe de situación.pdf", PDF)
    ]


def test_the_content_type_name_parameter_names_an_attachment_too():
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n"
        b'--b\r\nContent-Type: application/pdf; name="=?utf-8?q?factura_=C3=B1.pdf?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PDF) + b"\r\n--b--\r\n"
    )
    assert [a.filename for a in parsed(raw).attachments] == ["factura ñ.pdf"]


def test_unnamed_attachments_get_a_name_from_their_type():
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment\r\n\r\n"
        b"%PDF-1.7\r\n"
        b"--b\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\r\n"
        b"--b\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n"
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
        b"--b\r\nContent-Type: application/x-made-up\r\n\r\n??\r\n--b--\r\n"
    )
    mail = parsed(raw)
    assert mail.text == "Hi"
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("attachment.pdf", "application/pdf"),
        ("image.jpg", "image/jpeg"),
        ("invite.ics", "text/calendar"),
        ("attachment", "application/x-made-up"),
    ]


def test_a_calendar_invitation_in_an_alternative_is_an_attachment():
    """Outlook sends invitations as text, HTML and text/calendar alternatives."""
    raw = (
        b"From: maria@acme.example\r\nSubject: Meeting\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWhen: Monday\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>When: Monday</p>\r\n"
        b"--b\r\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n")
        + b"\r\n--b--\r\n"
    )
    mail = parsed(raw)
    assert (mail.text, mail.html) == ("When: Monday", "<p>When: Monday</p>")
    [invite] = mail.attachments
    assert (invite.filename, invite.content_type) == ("invite.ics", "text/calendar")
    assert invite.payload.startswith(b"BEGIN:VCALENDAR")


def test_a_text_file_attached_inline_with_a_name_is_an_attachment_not_body():
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nThe log is attached.\r\n"
        b'--b\r\nContent-Type: text/plain; name="error.log"\r\n'
        b'Content-Disposition: inline; filename="error.log"\r\n\r\nTraceback...\r\n--b--\r\n'
    )
    mail = parsed(raw)
    assert mail.text == "The log is attached."
    assert [(a.filename, a.payload) for a in mail.attachments] == [("error.log", b"Traceback...")]


def test_a_forwarded_message_is_attached_as_an_eml_file():
    original = build(
        subject="Factura de marzo",
        body="La factura está adjunta.",
        attachments=[("factura.pdf", PDF, "application/pdf")],
        message_id="<original.1@globex.example>",
    )
    mail = parsed(
        build(
            subject="Fwd: Factura de marzo",
            body="Mira esto.",
            attachments=[("", original, "message/rfc822")],
        )
    )
    assert mail.text == "Mira esto."
    [forwarded] = mail.attachments
    assert (forwarded.filename, forwarded.content_type) == (
        "Factura de marzo.eml",
        "message/rfc822",
    )
    # The .eml is a message again, with its own attachment inside.
    inner = parsed(forwarded.payload)
    assert (inner.subject, inner.text, inner.message_id) == (
        "Factura de marzo",
        "La factura está adjunta.",
        "original.1@globex.example",
    )
    assert [a.filename for a in inner.attachments] == ["factura.pdf"]
    # A forward is not a bounce.
    assert not mail.is_bounce and mail.bounced_message_id == ""


def test_a_named_forwarded_message_gets_the_eml_extension_once():
    original = build(subject="Hola")
    mail = parsed(build(attachments=[("Re: Hola", original, "message/rfc822")]))
    assert [a.filename for a in mail.attachments] == ["Re_ Hola.eml"]
    mail = parsed(build(attachments=[("saved.eml", original, "message/rfc822")]))
    assert [a.filename for a in mail.attachments] == ["saved.eml"]


def test_a_base64_encoded_forwarded_message_is_decoded():
    """message/rfc822 may not be base64-encoded; some gateways do it anyway."""
    original = build(subject="Encoded inside", body="Hidden text")
    raw = (
        b"From: maria@acme.example\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nForwarding.\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(original).replace(b"\n", b"\r\n")
        + b"--b--\r\n"
    )
    [forwarded] = parsed(raw).attachments
    assert forwarded.filename == "Encoded inside.eml"
    assert parsed(forwarded.payload).text == "Hidden text"


def test_a_message_that_is_only_an_attachment():
    raw = (
        b"From: maria@acme.example\r\nSubject: scan\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="scan.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PDF)
    )
    mail = parsed(raw)
    assert mail.text == ""
    assert [(a.filename, a.payload) for a in mail.attachments] == [("scan.pdf", PDF)]


def test_uuencoded_and_unknown_transfer_encodings_do_not_stop_the_parse():
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-made-up\r\n\r\nHi\r\n"
        b'--b\r\nContent-Type: application/octet-stream; name="a.bin"\r\n'
        b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a.bin\r\n#86)C\r\n`\r\nend\r\n"
        b"--b--\r\n"
    )
    mail = parsed(raw)
    assert mail.text == "Hi"
    assert [(a.filename, a.payload) for a in mail.attachments] == [("a.bin", b"abc")]


# -- auto-replies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto-submitted: auto-replied"),
        ({"Auto-Submitted": "auto-generated"}, "auto-submitted: auto-generated"),
        ({"Auto-Submitted": "auto-notified; owner-email=x@y"}, "auto-submitted: auto-notified"),
        ({"X-Autoreply": "yes"}, "x-autoreply"),
        ({"X-Autorespond": "Vacation"}, "x-autorespond"),
        ({"X-Autoresponse": ""}, "x-autoresponse"),
        ({"Precedence": "bulk"}, "precedence: bulk"),
        ({"Precedence": "junk"}, "precedence: junk"),
        ({"Precedence": "list"}, "precedence: list"),
        ({"Precedence": "auto_reply"}, "precedence: auto_reply"),
        ({"X-Precedence": "Bulk"}, "x-precedence: bulk"),
        ({"X-Auto-Response-Suppress": "All"}, "x-auto-response-suppress"),
        ({"X-Auto-Response-Suppress": "OOF, AutoReply"}, "x-auto-response-suppress"),
        ({"X-FC-MachineGenerated": "true"}, "x-fc-machinegenerated"),
        ({"From": "MAILER-DAEMON@mx.acme.example"}, "from: mailer-daemon"),
        ({"From": "Postmaster <postmaster@acme.example>"}, "from: postmaster"),
        ({"Return-Path": "<>"}, "return-path: <>"),
    ],
)
def test_auto_replies_are_recognised_with_the_reason(headers, reason):
    mail = parsed(build(headers=headers))
    assert mail.is_auto_reply
    assert mail.auto_reply_reason == reason
    assert not mail.is_bounce


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Auto-Submitted": "no"},
        {"Auto-Submitted": "No (a person wrote this)"},
        {"X-Autoreply": "no"},
        {"Precedence": "first-class"},
        # Asks only that no read or delivery receipts be sent: a person's message.
        {"X-Auto-Response-Suppress": "RN, NRN"},
        # A person writing through a mailing list that does not mark itself "list":
        # list traffic is flagged by Precedence, not by List-Id alone.
        {"List-Id": "<users.lists.acme.example>"},
        {"Return-Path": "<maria@acme.example>"},
    ],
)
def test_messages_from_people_are_not_auto_replies(headers):
    mail = parsed(build(headers=headers))
    assert not mail.is_auto_reply
    assert mail.auto_reply_reason == ""


def test_a_read_receipt_is_an_auto_reply_not_a_bounce():
    raw = (
        b"From: maria@acme.example\r\nSubject: Read: Printer\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=disposition-notification;"
        b' boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n"
        b"--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; maria@acme.example\r\n"
        b"Disposition: manual-action/MDN-sent-manually; displayed\r\n--b--\r\n"
    )
    mail = parsed(raw)
    assert mail.is_auto_reply and mail.auto_reply_reason == "report: disposition-notification"
    assert not mail.is_bounce
    assert mail.text == "Your message was read."


# -- bounces ----------------------------------------------------------------------------------


ORIGINAL = build(
    subject="[#42] Your printer",
    body="We replaced the toner.",
    sender="Soporte <support@soporte.example>",
    to="nobody@acme.example",
    message_id="<ticket-42.reply-7@soporte.example>",
)


def test_a_dsn_with_the_whole_original_is_a_bounce_of_that_message():
    mail = parsed(bounce(ORIGINAL))
    assert mail.is_bounce
    assert mail.bounced_message_id == "ticket-42.reply-7@soporte.example"
    assert mail.bounce_action == "failed"
    assert mail.bounced_recipients == ("nobody@acme.example",)
    assert mail.is_auto_reply  # never answered either
    assert mail.subject == "Undelivered Mail Returned to Sender"
    assert "could not\nbe delivered" in mail.text
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("delivery-status.txt", "message/delivery-status"),
        ("[#42] Your printer.eml", "message/rfc822"),
    ]
    assert b"Status: 5.1.1" in mail.attachments[0].payload


def test_a_dsn_with_only_the_original_headers_is_a_bounce_of_that_message():
    mail = parsed(bounce(ORIGINAL, headers_only=True))
    assert mail.is_bounce
    assert mail.bounced_message_id == "ticket-42.reply-7@soporte.example"
    assert [a.content_type for a in mail.attachments] == [
        "message/delivery-status",
        "text/rfc822-headers",
    ]


def test_a_delay_notice_is_a_dsn_with_its_action():
    mail = parsed(bounce(ORIGINAL, action="delayed", status="4.4.1"))
    assert mail.is_bounce and mail.bounce_action == "delayed"


def test_a_mailer_daemon_message_with_a_delivery_status_part_is_a_bounce():
    """Some MTAs wrap the report in multipart/mixed instead of multipart/report."""
    report = bounce(ORIGINAL).replace(b"multipart/report", b"multipart/mixed", 1)
    mail = parsed(report)
    assert mail.is_bounce
    assert mail.bounced_message_id == "ticket-42.reply-7@soporte.example"


def test_a_person_forwarding_a_delivery_report_is_not_a_bounce():
    report = bounce(ORIGINAL).replace(b"multipart/report", b"multipart/mixed", 1)
    report = report.replace(b"MAILER-DAEMON@mx.soporte.example", b"maria@acme.example")
    mail = parsed(report)
    assert not mail.is_bounce
    assert mail.bounced_message_id == ""


def test_an_exchange_style_dsn_in_base64_is_a_bounce():
    raw = (
        b"From: postmaster@acme.example\r\nTo: support@soporte.example\r\n"
        b"Subject: Undeliverable: [#42] Your printer\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type="delivery-status"; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"Delivery has failed to these recipients: nadie@acme.example")
        + b"\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns;EX01.acme.example\r\n\r\n"
        b"Final-recipient: RFC822; Nadie@Acme.example\r\nAction: Failed\r\nStatus: 5.1.10\r\n"
        b"\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"From: support@soporte.example\r\nMessage-ID: <ticket-42.reply-8@soporte.example>\r\n"
        b"Subject: [#42] Your printer\r\n\r\n--b--\r\n"
    )
    mail = parsed(raw)
    assert mail.is_bounce
    assert (mail.bounced_message_id, mail.bounce_action, mail.bounced_recipients) == (
        "ticket-42.reply-8@soporte.example",
        "failed",
        ("nadie@acme.example",),
    )
    assert mail.text == "Delivery has failed to these recipients: nadie@acme.example"


# -- NUL characters and other garbage ----------------------------------------------------------


def test_nul_bytes_never_reach_a_str_field():
    raw = (
        b"From: Mar\x00ia <maria@acme.example>\r\nTo: support@soporte.example\r\n"
        b"Subject: Hola\x00 mundo\r\nMessage-ID: <a\x00b@acme.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b'--b\r\nContent-Type: multipart/alternative; boundary="c"\r\n\r\n'
        b"--c\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"uno\x00dos\r\n"
        b"--c\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"<p>tres\x00cuatro</p>")
        + b"\r\n--c--\r\n"
        b'--b\r\nContent-Type: application/octet-stream; name="da\x00ta.bin"\r\n'
        b"Content-ID: <x\x00y>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"\x00\x01\x00")
        + b"\r\n--b--\r\n"
    )
    mail = parsed(raw)
    assert mail.subject == "Hola mundo"
    assert mail.text == "unodos"
    assert mail.html == "<p>trescuatro</p>"
    assert mail.message_id == "ab@acme.example"
    [data] = mail.attachments
    assert (data.filename, data.content_id, data.payload) == ("data.bin", "xy", b"\x00\x01\x00")


def test_a_utf16_part_labelled_utf8_keeps_no_nul():
    mail = parsed(build(body="Hola".encode("utf-16-le"), charset="utf-8"))
    assert mail.text == "Hola"


def test_a_content_type_that_makes_policy_default_raise_is_read_with_compat32():
    """A dangling RFC 2231 parameter ("x*") raises IndexError inside policy.default."""
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"; x*\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8; name*\r\n\r\nSe\xc3\xb1al\r\n"
        b'--b\r\nContent-Type: application/pdf; name="a.pdf"; y*\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PDF) + b"\r\n--b--\r\n"
    )
    mail = parsed(raw)
    assert mail.text == "Señal"
    assert [(a.filename, a.payload) for a in mail.attachments] == [("a.pdf", PDF)]


def test_a_multipart_without_its_closing_boundary_keeps_what_arrived():
    raw = build(body="Complete text", attachments=[("a.pdf", PDF, "application/pdf")])
    mail = parsed(raw[: raw.rindex(b"--\r\n") - 30])
    assert mail.text == "Complete text"


def test_a_multipart_without_a_boundary_parameter_is_read_as_text():
    raw = (
        b"From: maria@acme.example\r\nSubject: x\r\nContent-Type: multipart/mixed\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n--b--\r\n"
    )
    mail = parsed(raw)
    assert "Hi" in mail.text


def nested(depth: int) -> bytes:
    raw = b"From: maria@acme.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    for level in range(depth):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
    raw += b"Content-Type: text/plain\r\n\r\nbottom\r\n"
    for level in reversed(range(depth)):
        raw += b"--b%d--\r\n" % level
    return raw


def test_nested_multiparts_are_read_down_to_a_limit():
    assert parsed(nested(10)).text == "bottom"
    # Deeper than any mail client nests: the text is not read, the rest is.
    mail = parsed(nested(200))
    assert (mail.subject, mail.text) == ("deep", "")


def test_nesting_deeper_than_the_stdlib_parser_reads_is_a_parse_error():
    with pytest.raises(ParseError, match="nested too deeply"):
        parse(nested(3000))


def test_duplicated_headers_use_the_first():
    raw = build(headers={"Subject": "First"}).replace(
        b"Subject: First\r\n", b"Subject: First\r\nSubject: Second\r\n"
    )
    assert parsed(raw).subject == "First"


def test_lf_only_and_cr_only_line_ends_are_read():
    raw = build(body="uno\ndos", html="<p>uno</p>")
    assert parsed(raw.replace(b"\r\n", b"\n")).text == "uno\ndos"
    assert parsed(raw.replace(b"\r\n", b"\r")).subject == "Printer on fire"


def test_dates_in_other_zones_compare_as_instants():
    mail = parsed(build(headers={"Date": "Tue, 05 Mar 2024 10:00:00 +0530"}))
    assert mail.date is not None
    assert mail.date.utcoffset() == timedelta(hours=5, minutes=30)
    assert mail.date == datetime(2024, 3, 5, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "languages"),
    [
        ({"Content-Language": "es-ES"}, ("es",)),
        ({"Content-Language": "es-ES", "Accept-Language": "en-US, es-ES;q=0.8"}, ("es", "en")),
        ({"Accept-Language": "pt-BR,pt;q=0.9,EN;q=0.8"}, ("pt", "en")),
        ({"Content-Language": "x-klingon, *, 12"}, ()),
        ({}, ()),
    ],
)
def test_the_languages_the_senders_client_declared_are_read_in_order(headers, languages):
    assert parse(build(headers=headers)).languages == languages
