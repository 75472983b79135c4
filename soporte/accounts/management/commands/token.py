from django.core.management.base import BaseCommand, CommandError

from soporte.accounts.models import User
from soporte.accounts.services import create_api_token
from soporte.lib.errors import ServiceError


class Command(BaseCommand):
    help = "Create a personal API token for a user and print its key (shown only now)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", help="what the token is for, e.g. 'nightly import'")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"The account {username!r} is disabled.")
        try:
            _, key = create_api_token(acting_user=user, name=name)
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(key)
