from django.core.management.base import BaseCommand, CommandError

from board.models import User
from board.tokens import token_create


class Command(BaseCommand):
    help = "Create a personal API token (for DICOMweb clients) and print it. It is shown once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="Command line", help="What the token is for.")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        if not user.is_active:
            raise CommandError(f"{user.username} is inactive; a token would not work.")
        name = options["name"].strip()
        if not name:
            raise CommandError("--name must not be empty.")
        _, token = token_create(user=user, name=name)
        self.stdout.write(token)
