"""Uploaded files: a safe name, and a content type taken from the bytes."""

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from soporte.lib.errors import UnsupportedMedia
from soporte.lib.files import checked_content_type, safe_filename, sniff

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
ZIP = b"PK\x03\x04\x14\x00\x06\x00"
GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00"
LINUX_ELF = b"\x7fELF\x02\x01\x01\x00"


# -- safe_filename --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\drivers\\etc\\hosts", "hosts"),
        ("/absolute/path/to/photo.jpg", "photo.jpg"),
        ("C:\\Users\\maria\\Desktop\\invoice.pdf", "invoice.pdf"),
        ("..", "attachment"),
        ("../", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        (".htaccess", "htaccess"),
        ("...hidden.txt", "hidden.txt"),
        ("  spaced name.txt  ", "spaced name.txt"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("tab\there\nnewline\x00nul.txt", "tab_here_newline_nul.txt"),
        ("del\x7fchar.txt", "del_char.txt"),
        ("Informe de situación.pdf", "Informe de situación.pdf"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_normalizes_to_nfc():
    decomposed = "Situacio\u0301n.pdf"  # o + combining acute accent
    assert safe_filename(decomposed) == "Situación.pdf"
    assert unicodedata.is_normalized("NFC", safe_filename(decomposed))


def test_a_long_name_is_cut_keeping_its_extension():
    name = "x" * 500 + ".pdf"
    safe = safe_filename(name)
    assert len(safe) == 200
    assert safe.endswith(".pdf")


def test_a_long_name_without_an_extension_is_cut():
    assert safe_filename("y" * 500) == "y" * 200


def test_a_long_extension_is_not_kept_whole():
    safe = safe_filename("report." + "z" * 300)
    assert len(safe) == 200
    assert safe.startswith("report.")


@pytest.mark.parametrize("name", ["virus.exe.", "virus.exe ", "virus.exe. . .", "run.bat...."])
def test_trailing_dots_and_spaces_are_dropped(name):
    """Windows drops them when saving, so "virus.exe." would become a program."""
    safe = safe_filename(name)
    assert safe in ("virus.exe", "run.bat")
    with pytest.raises(UnsupportedMedia):
        checked_content_type(safe, b"harmless")


@pytest.mark.parametrize(
    "name",
    [
        "invoice\u202efdp.exe",  # right-to-left override: shows as "invoiceexe.pdf"
        "a\x85b.txt",  # NEL, a C1 control character
        "line\u2028break.txt",
        "zero\u200bwidth.txt",
    ],
)
def test_invisible_and_control_characters_are_replaced(name):
    safe = safe_filename(name)
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp") for ch in safe)


_FORBIDDEN = set('/\\<>:"|?*')


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")


@given(st.text(max_size=400))
def test_safe_filename_never_returns_a_path_separator_or_control_char(name):
    safe = safe_filename(name)
    assert safe
    assert not _FORBIDDEN & set(safe)
    assert not any(_is_control(ch) for ch in safe)
    assert safe not in (".", "..")
    assert not safe.startswith(".")
    assert safe == safe.strip()
    assert not safe.endswith(".")
    assert len(safe) <= 200


@given(st.text(max_size=400), st.integers(min_value=1, max_value=300))
@example("abcdefgh.pdf", 3)
@example("a" * 30 + "." + "b" * 10, 12)
def test_safe_filename_respects_any_maximum_length(name, max_length):
    safe = safe_filename(name, max_length=max_length)
    assert 1 <= len(safe) <= max(max_length, len("attachment"))


@given(st.text(max_size=200))
def test_safe_filename_is_idempotent(name):
    once = safe_filename(name)
    assert safe_filename(once) == once


# -- content types --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (ZIP, "application/zip"),
        (GZIP, "application/gzip"),
        (OLE, "application/x-ole-storage"),
        (b"plain text", None),
        (b"", None),
    ],
)
def test_sniff_reads_the_leading_bytes(head, expected):
    assert sniff(head) == expected


@pytest.mark.parametrize(
    ("filename", "head", "expected"),
    [
        ("report.pdf", PDF, "application/pdf"),
        ("photo.png", PNG, "image/png"),
        ("photo.JPG", JPEG, "image/jpeg"),
        ("notes.txt", b"just some text", "text/plain"),
        ("data.csv", b"a,b,c\n1,2,3\n", "text/csv"),
        ("scan", PDF, "application/pdf"),  # no extension: the bytes decide
        ("blob", b"\x00\x01\x02", "application/octet-stream"),
        ("server.log", b"INFO started", "application/octet-stream"),
        # Office files are ZIP or OLE containers underneath.
        (
            "budget.xlsx",
            ZIP,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("letter.odt", ZIP, "application/vnd.oasis.opendocument.text"),
        ("old.doc", OLE, "application/msword"),
        ("logs.zip", ZIP, "application/zip"),
        # Compressed files: the compression is what the bytes show.
        ("logs.gz", GZIP, "application/gzip"),
        ("logs.tar.gz", GZIP, "application/gzip"),
        ("logs.tgz", GZIP, "application/gzip"),
    ],
)
def test_checked_content_type_accepts_matching_files(filename, head, expected):
    assert checked_content_type(filename, head) == expected


@pytest.mark.parametrize(
    ("filename", "head"),
    [
        ("photo.png", PDF),
        ("report.pdf", PNG),
        ("photo.jpg", b"GIF89a\x01\x00"),
        ("notes.txt", ZIP),
        ("letter.docx", PDF),
        ("report.pdf", GZIP),
    ],
)
def test_content_that_contradicts_the_name_is_refused(filename, head):
    with pytest.raises(UnsupportedMedia, match="does not match the file name"):
        checked_content_type(filename, head)


@pytest.mark.parametrize(
    "filename", ["setup.exe", "SETUP.EXE", "lib.dll", "run.bat", "x.ps1", "a.js", "b.jar", "c.sh"]
)
def test_programs_are_refused_by_extension(filename):
    with pytest.raises(UnsupportedMedia, match="programs and scripts"):
        checked_content_type(filename, b"anything")


@pytest.mark.parametrize("head", [WINDOWS_EXE, LINUX_ELF, b"\xcf\xfa\xed\xfe\x07\x00"])
@pytest.mark.parametrize("filename", ["invoice.pdf", "photo.png", "readme", "notes.txt"])
def test_programs_are_refused_by_content_whatever_their_name(filename, head):
    with pytest.raises(UnsupportedMedia, match="programs and scripts"):
        checked_content_type(filename, head)
