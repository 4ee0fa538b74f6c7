from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from board.demo import DEMO_PASSWORD, DEMO_SECOND_FACTOR, demo_totp_secret, seed_demo


class Command(BaseCommand):
    help = "Create (or reset) the demo Sarcoma Tumor Board, its users and cases. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--imaging-slices",
            type=int,
            default=120,
            help="Slices of the phantom CT attached to case DEMO01 (0 for none).",
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run under CONSILIUM_PRODUCTION=1")
        users = seed_demo(imaging_slices=options["imaging_slices"])
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins (password for all):"))
        self.stdout.write(f"  password: {DEMO_PASSWORD}")
        for demo in users:
            self.stdout.write(f"  {demo.username:<12} {demo.description}")
        self.stdout.write(f"  {'admin':<12} site administrator (Django admin at /admin/)")
        self.stdout.write(
            "Authenticator keys (second factor; `manage.py demo_code USER` prints today's code):"
        )
        for username in DEMO_SECOND_FACTOR:
            self.stdout.write(f"  {username:<12} {demo_totp_secret(username)}")
