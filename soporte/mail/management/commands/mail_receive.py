"""`soporte mail_receive`: receive mail over SMTP, or LMTP with --lmtp, for an MTA
(Postfix, Exim) to hand messages to. Each one is stored, then processed in the
background.

    soporte mail_receive --port 2525 [--host 127.0.0.1] [--lmtp]
"""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from soporte.mail.smtp import ReceiverController


class Command(BaseCommand):
    help = "Receive mail over SMTP (or LMTP) and store it for processing."

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Set to stop serving (SIGTERM, SIGINT, or a test).
        self.stop = threading.Event()

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=2525, help="port to listen on")
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default: loopback)"
        )
        parser.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")

    def handle(self, *args, port: int, host: str, lmtp: bool, **options):
        if options["verbosity"] < 2:
            # aiosmtpd logs every connection and command at INFO; -v 2 shows them.
            logging.getLogger("mail.log").setLevel(logging.WARNING)
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: self.stop.set())
        controller = ReceiverController(host=host, port=port, lmtp=lmtp)
        try:
            controller.start()
        except Exception as error:
            raise CommandError(f"Could not listen on {host}:{port}: {error}") from error
        protocol = "LMTP" if lmtp else "SMTP"
        self.stdout.write(
            f"Receiving mail ({protocol}) on {host}:{port}, "
            f"messages up to {settings.MAIL_MAX_BYTES} bytes. Stop with Ctrl+C."
        )
        self.stdout.flush()
        try:
            self.stop.wait()
        finally:
            controller.stop()
