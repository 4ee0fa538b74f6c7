from django.core.management.base import BaseCommand

from decisions.followup import followups_remind


class Command(BaseCommand):
    help = (
        "Ask for each follow-up point of a signed recommendation that fell due (email with a "
        "link to the referring doctor, or the board's data managers) and remind for those "
        "still not recorded every 14 days, three times at most. Run it daily, e.g. from cron."
    )

    def handle(self, *args, **options):
        counts = followups_remind()
        self.stdout.write(
            f"Asked for {counts['asked']} follow-up(s); sent {counts['reminded']} reminder(s)."
        )
