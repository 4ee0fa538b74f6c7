from django.core.management.base import BaseCommand

from decisions.services import vote_rounds_close_due


class Command(BaseCommand):
    help = (
        "Close and count every vote whose deadline has passed. Voting already stops at the "
        "deadline; this records the outcome. Run it every few minutes, e.g. from cron."
    )

    def handle(self, *args, **options):
        closed = vote_rounds_close_due()
        for round_ in closed:
            self.stdout.write(f"Closed vote {round_.number} on {round_.case}: {round_.result}.")
        self.stdout.write(f"Closed {len(closed)} vote(s).")
