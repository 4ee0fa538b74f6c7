from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo account (demo data only)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        # The demo keys are public; in production a code printer would be a bypass.
        if settings.PRODUCTION:
            raise CommandError("demo_code refuses to run under CONSILIUM_PRODUCTION=1")
        device = TOTPDevice.objects.filter(
            user__username=username, name="Demo authenticator", confirmed=True
        ).first()
        if device is None:
            raise CommandError(f"{username!r} has no demo authenticator (run seed_demo)")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
