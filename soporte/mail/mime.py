"""The mail we send, as Django builds it, with the subject encoded in one pass.

For a subject that is not ASCII, Django hands it to the standard library's Header,
which picks the shorter of two encodings character by character and measures each
line again as it grows: a cost quadratic in the subject's length, paid for every
acknowledgement of a Spanish subject (a tenth of building one). Encoded here as
RFC 2047 words instead (UTF-8, base64, each word within the 75 characters allowed), the
subject reaches Django as ASCII and is used as it is; readers decode the same text.
"""

from __future__ import annotations

import base64
from typing import Any

from django.core.mail import EmailMultiAlternatives

# UTF-8 bytes per encoded word: base64 of 39 bytes is 52 characters, and with
# "=?utf-8?b?" and "?=" a word is 64: within RFC 2047's 75, and the first fits on the
# line after "Subject: " (a fold before it would read back as a leading space).
WORD_BYTES = 39


def encoded_subject(subject: str) -> str:
    """The subject as RFC 2047 encoded words, or as it is when it is ASCII (or holds a
    line break, which Django refuses as it always did)."""
    if subject.isascii() or "\n" in subject or "\r" in subject:
        return subject
    words: list[bytes] = []
    word = b""
    for char in subject:
        encoded = char.encode("utf-8", "surrogatepass")
        if len(word) + len(encoded) > WORD_BYTES:  # never split a character
            words.append(word)
            word = b""
        word += encoded
    words.append(word)
    return " ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


class Mail(EmailMultiAlternatives):
    """EmailMultiAlternatives whose MIME message carries the subject encoded by
    encoded_subject(); `subject` itself stays the text, for whoever reads it."""

    def message(self, *args: Any, **kwargs: Any) -> Any:
        subject = self.subject
        self.subject = encoded_subject(str(subject))
        try:
            return super().message(*args, **kwargs)
        finally:
            self.subject = subject
