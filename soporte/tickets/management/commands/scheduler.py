import signal

from django.core.management.base import BaseCommand

from soporte.celery import app
from soporte.scheduler import EmbeddedScheduler


class Command(BaseCommand):
    help = "Run the periodic jobs (mail polling, pending mail...) without a broker."

    def handle(self, *args, **options):
        scheduler = EmbeddedScheduler(app.conf.beat_schedule)
        signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
        self.stdout.write(f"Running {len(scheduler.entries)} periodic jobs.")
        scheduler.start()
        try:
            while scheduler.is_alive():
                scheduler.join(1)
        except KeyboardInterrupt:
            scheduler.stop()
