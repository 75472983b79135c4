from django.core.management.base import BaseCommand

from soporte.mail.services import process_pending_messages


class Command(BaseCommand):
    help = "Process every stored inbound message still waiting (e.g. after a crash)."

    def handle(self, *args, **options):
        done = process_pending_messages()
        self.stdout.write(f"{done} messages processed.")
