"""split_quoted(): the new text of a reply and the history and signature to fold."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soporte.lib.quotes import split_quoted


def split(text: str) -> tuple[str, str]:
    text = textwrap.dedent(text).lstrip("\n")
    new, folded = split_quoted(text)
    assert new + folded == text
    return new, folded


def test_text_without_history_is_all_new():
    text = "Hola,\n\nla impresora sigue sin funcionar.\n\nGracias\n"
    assert split_quoted(text) == (text, "")


def test_an_empty_text():
    assert split_quoted("") == ("", "")


def test_an_english_attribution_and_quoted_lines_are_folded():
    new, folded = split(
        """
        Thanks, it works now.

        On Mon, 4 Mar 2024 at 10:00, Alice <alice@soporte.example> wrote:
        > Please restart the printer.
        >
        > Alice
        """
    )
    assert new == "Thanks, it works now.\n\n"
    assert folded.startswith("On Mon, 4 Mar 2024 at 10:00, Alice")


def test_a_spanish_attribution_and_quoted_lines_are_folded():
    new, folded = split(
        """
        Gracias, ya funciona.

        El lun, 4 mar 2024 a las 10:00, Alicia (<alicia@soporte.example>) escribió:
        > Por favor, reinicie la impresora.
        """
    )
    assert new == "Gracias, ya funciona.\n\n"
    assert folded.startswith("El lun, 4 mar 2024")


@pytest.mark.parametrize(
    "attribution",
    [
        # Gmail wraps a long attribution over two lines.
        "On Mon, Mar 4, 2024 at 10:00 AM Alice Example <\nalice@soporte.example> wrote:",
        "El lun., 4 mar. 2024 10:00, Alicia Ejemplo <\nalicia@soporte.example> escribió:",
        "El 04/03/2024 a las 10:00, Alicia escribio:",
        "Le lun. 4 mars 2024 à 10:00, Alice <alice@soporte.example> a écrit :",
        "Am 04.03.2024 um 10:00 schrieb Alice <alice@soporte.example>:",
    ],
)
def test_attributions_in_several_forms(attribution):
    text = f"Done.\n\n{attribution}\n> old text\n"
    new, folded = split_quoted(text)
    assert new == "Done.\n\n"
    assert folded == f"{attribution}\n> old text\n"


def test_quoted_lines_without_attribution_are_folded():
    new, folded = split("Yes.\n\n> Is it plugged in?\n> > Printer broken\n")
    assert (new, folded) == ("Yes.\n\n", "> Is it plugged in?\n> > Printer broken\n")


def test_answers_written_between_quoted_lines_stay_visible():
    text = textwrap.dedent(
        """\
        On Monday, Alice wrote:
        > Is it plugged in?
        Yes.
        > Does the light blink?
        No, it is off.
        """
    )
    assert split_quoted(text) == (text, "")


def test_a_quoted_block_followed_by_the_signature():
    new, folded = split("Yes.\n\n> Is it plugged in?\n\n-- \nMaria\n")
    assert (new, folded) == ("Yes.\n\n", "> Is it plugged in?\n\n-- \nMaria\n")


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-----Mensaje original-----",
        "----- Mensaje original -----",
    ],
)
def test_original_message_separators_fold_everything_below(separator):
    new, folded = split(
        f"""
        Forwarding this to you.

        {separator}
        From: Alice
        Unquoted history that Outlook does not mark with ">".
        """
    )
    assert new == "Forwarding this to you.\n\n"
    assert folded.startswith(separator)


def test_an_outlook_header_block_in_english_folds_the_history():
    new, folded = split(
        """
        It still fails.

        From: Alice <alice@soporte.example>
        Sent: Monday, March 4, 2024 10:00 AM
        To: Maria <maria@acme.example>
        Subject: RE: Printer

        Please restart it.
        """
    )
    assert new == "It still fails.\n\n"
    assert folded.startswith("From: Alice")


def test_an_outlook_header_block_in_spanish_folds_the_history():
    new, folded = split(
        """
        Sigue fallando.

        De: Alicia <alicia@soporte.example>
        Enviado el: lunes, 4 de marzo de 2024 10:00
        Para: María <maria@acme.example>
        Asunto: RE: Impresora

        Por favor, reiníciela.
        """
    )
    assert new == "Sigue fallando.\n\n"
    assert folded.startswith("De: Alicia")


def test_an_outlook_block_with_bold_names_under_a_line_of_underscores():
    new, folded = split(
        """
        Sigue fallando.

        ________________________________
        *De:* Alicia <alicia@soporte.example>
        *Enviado:* lunes, 4 de marzo de 2024 10:00
        *Para:* María
        """
    )
    assert new == "Sigue fallando.\n\n"
    assert folded.startswith("______")


def test_a_from_line_without_a_sent_line_is_not_history():
    text = "From: my side the printer works.\nTo: be sure, I restarted it.\n"
    assert split_quoted(text) == (text, "")


def test_a_signature_is_folded():
    new, folded = split("It works now.\n\n-- \nMaria López\nAcme S.A.\n")
    assert (new, folded) == ("It works now.\n\n", "-- \nMaria López\nAcme S.A.\n")


def test_a_signature_whose_trailing_space_was_lost_is_folded():
    new, folded = split("It works now.\n--\nMaria\n")
    assert (new, folded) == ("It works now.\n", "--\nMaria\n")


def test_a_signature_above_the_quoted_history_starts_the_fold():
    new, folded = split(
        """
        Gracias.

        --
        María

        El lun, 4 mar 2024 a las 10:00, Alicia escribió:
        > Reinicie la impresora.
        """
    )
    assert new == "Gracias.\n\n"
    assert folded.startswith("--\nMaría\n\nEl lun")


def test_a_signature_above_outlook_history_starts_the_fold():
    new, folded = split(
        """
        Thanks
        -- 
        Maria
        -----Original Message-----
        From: Alice
        """  # noqa: W291
    )
    assert new == "Thanks\n"
    assert folded.startswith("-- \nMaria\n-----Original")


def test_a_message_that_is_all_history_is_not_folded():
    """A bare forward: folding it all would show nothing."""
    text = "-----Original Message-----\nFrom: Alice\nSent: Monday\n\nThe real request.\n"
    assert split_quoted(text) == (text, "")
    quoted = "> only\n> quoted\n"
    assert split_quoted(quoted) == (quoted, "")


def test_windows_line_ends_are_kept():
    text = "Yes.\r\n\r\nOn Monday, Alice wrote:\r\n> Is it on?\r\n"
    assert split_quoted(text) == ("Yes.\r\n\r\n", "On Monday, Alice wrote:\r\n> Is it on?\r\n")


def test_the_forwarded_sample_folds_at_its_original_message_line():
    text = "This is email body\n\n-----Original Message-----\nFrom: GitHub <noreply@github.com>\n"
    assert split_quoted(text)[0] == "This is email body\n\n"


@given(st.text())
def test_nothing_is_ever_lost(text):
    new, folded = split_quoted(text)
    assert new + folded == text


@given(
    st.lists(
        st.sampled_from(
            ["hola", "", "> q", ">", "-- ", "--", "On Monday, Alice wrote:", "El lun, A escribió:",
             "-----Original Message-----", "From: A", "Sent: B", "De: A", "Enviado: B",
             "_" * 32, "  ", "\r"]
        )
    )
)  # fmt: skip
def test_nothing_is_ever_lost_in_mail_like_text(lines):
    text = "\n".join(lines)
    new, folded = split_quoted(text)
    assert new + folded == text
    if folded:
        assert new.strip()
