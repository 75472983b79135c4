from django.core.management.base import BaseCommand

from soporte.tickets.demo import demo_logins, load_demo


class Command(BaseCommand):
    help = "Load the demo data (once: does nothing when users exist) and print the logins."

    def handle(self, *args, **options):
        if load_demo():
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write("Demo logins (username / password):")
        for username, password, role in demo_logins():
            self.stdout.write(f"  {role:<22} {username} / {password}")
