"""Mail backends for people to read (development): the console and the file backend, whole lines.

Django's backends write a mail as a mail server gets it: a body with a line over 78 characters
(the password-reset link usually is one) goes out quoted-printable, so the link in the log is cut
by soft line breaks ("=" at a line's end) and its "=" signs become "=3D": it cannot be copied.
These write the body as it was written, 7bit (8bit where it is not ASCII), lines kept whole up to
RFC 5322's limit of 998 characters, and headers in plain UTF-8. SMTP is left as Django sends it.
"""

from __future__ import annotations

import email.policy

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends import console, filebased

READABLE = email.policy.default.clone(cte_type="8bit", max_line_length=998, utf8=True)
SEPARATOR = "-" * 79


def readable_bytes(message: EmailMessage) -> bytes:
    """The whole mail, headers and body, as bytes that read as text."""
    return message.message(policy=READABLE).as_bytes()


class ConsoleBackend(console.EmailBackend):
    """Prints each mail to the console (standard output) in readable form."""

    def write_message(self, message: EmailMessage) -> None:
        text = readable_bytes(message).decode(message.encoding or settings.DEFAULT_CHARSET)
        self.stream.write(f"{text}\n{SEPARATOR}\n")


class FileBackend(filebased.EmailBackend):
    """Appends each mail to a file under ``file_path`` in readable form."""

    def write_message(self, message: EmailMessage) -> None:
        # filebased opens its file in binary mode; the stubs give it the console's text stream
        self.stream.write(readable_bytes(message) + f"\n{SEPARATOR}\n".encode())  # type: ignore[arg-type]
