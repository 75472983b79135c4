"""Uploaded files: a safe name, and a content type taken from the bytes, not the client."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _

from .errors import TooLarge, UnsupportedMedia

# Programs and scripts that run on a double-click are refused whatever their name says.
BLOCKED_EXTENSIONS = frozenset(
    {
        "exe", "dll", "com", "scr", "pif", "msi", "msp", "bat", "cmd", "vbs", "vbe", "js",
        "jse", "wsf", "wsh", "ps1", "psm1", "hta", "cpl", "lnk", "reg", "jar", "app", "sh",
    }
)  # fmt: skip
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")

# Leading bytes of common formats -> their type.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"%!PS", "application/postscript"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
)
# Types that are ZIP or OLE containers underneath, so the signature check accepts them.
_CONTAINER_FAMILIES = {
    "application/zip": ("application/vnd.openxmlformats", "application/vnd.oasis", "zip",
                        "application/epub", "application/java-archive"),
    "application/x-ole-storage": ("application/msword", "application/vnd.ms-", "application/x-msi"),
}  # fmt: skip
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
# Controls, invisible format marks (e.g. the right-to-left override that shows
# "invoice\u202efdp.exe" as "invoiceexe.pdf"), line separators and lone surrogates.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Windows drops trailing dots and spaces on save, so "virus.exe." would run as a program.
_EDGES = re.compile(r"^[\s.]+|[\s.]+$")
# "logs.tar.gz" is gzip bytes, whatever archive is inside.
_COMPRESSION_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
}


class ProgramRefused(UnsupportedMedia):
    """The file is a program or script (by name or by its first bytes)."""


class ContentMismatch(UnsupportedMedia):
    """The file's bytes are of another type than its name says."""

    def __init__(self, message: str, actual: str):
        super().__init__(message)
        self.actual = actual


def safe_filename(name: str, max_length: int = 200) -> str:
    """A file name safe to store and to offer for download: no path, no control chars."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if unicodedata.category(ch) in _INVISIBLE_CATEGORIES else ch for ch in name)
    name = _EDGES.sub("", _UNSAFE_CHARS.sub("_", name))
    if not name:
        name = "attachment"
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16 and len(ext) + 1 < max_length:
            name = stem[: max_length - len(ext) - 1] + "." + ext
        else:
            name = name[:max_length]
        name = _EDGES.sub("", name) or "attachment"
    return name


def sniff(head: bytes) -> str | None:
    for magic, content_type in _SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def checked_content_type(filename: str, head: bytes) -> str:
    """The type to store for a file, or UnsupportedMedia when the file is refused.

    1. Executables are refused by extension and by their leading bytes.
    2. A known signature must agree with the type the extension claims.
    3. Otherwise the type comes from the extension, else application/octet-stream.
    """
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    if ext in BLOCKED_EXTENSIONS or head.startswith(_EXECUTABLE_MAGIC):
        raise ProgramRefused(f"{filename}: programs and scripts cannot be attached.")
    claimed, encoding = mimetypes.guess_type(filename, strict=False)
    claimed = _COMPRESSION_TYPES.get(encoding or "", claimed)
    actual = sniff(head)
    if actual is None:
        return claimed or "application/octet-stream"
    if claimed is None or claimed == actual:
        return actual
    if any(claimed.startswith(prefix) for prefix in _CONTAINER_FAMILIES.get(actual, ())):
        return claimed
    raise ContentMismatch(
        f"{filename}: the content is {actual}, which does not match the file name.", actual
    )


@dataclass(frozen=True)
class CheckedUpload:
    name: str  # safe to show and to send back as a download name
    content_type: str
    size: int  # counted from the bytes, not the size the caller announced
    sha256: str


def check_upload(upload: IO[bytes], filename: str, size: int, limit: int) -> CheckedUpload:
    """The rules every stored file follows (attachments, course handouts...): at most
    `limit` bytes, no programs, content that agrees with the name. Raises TooLarge or
    UnsupportedMedia with a message for the person; leaves `upload` at its start."""
    name = safe_filename(filename)

    def too_large() -> TooLarge:
        return TooLarge(
            _("%(name)s is larger than the %(mb)s MB limit.")
            % {"name": name, "mb": limit // 1_048_576}
        )

    if size > limit:
        raise too_large()
    head = upload.read(2048)
    try:
        content_type = checked_content_type(name, head)
    except ProgramRefused:
        raise UnsupportedMedia(
            _("%(name)s: programs and scripts cannot be attached.") % {"name": name}
        ) from None
    except ContentMismatch as error:
        raise UnsupportedMedia(
            _("%(name)s: the content is %(type)s, which does not match the file name.")
            % {"name": name, "type": error.actual}
        ) from None
    upload.seek(0)
    # The bytes decide, not the size the caller announced (mail parts, API uploads).
    digest, counted = hashlib.sha256(), 0
    for chunk in iter(lambda: upload.read(1 << 16), b""):
        digest.update(chunk)
        counted += len(chunk)
        if counted > limit:
            raise too_large()
    upload.seek(0)
    return CheckedUpload(name, content_type, counted, digest.hexdigest())
