"""End the sessions past their idle timeout or absolute lifetime, closing their sockets.

A request of such a session is refused by the middleware anyway; this command reaches the
sessions that make no more requests but still hold a socket open. Schedule it every minute.
"""

from django.core.management.base import BaseCommand

from board.sessions import sessions_end_expired


class Command(BaseCommand):
    help = "End sessions past SESSION_IDLE_TIMEOUT or SESSION_ABSOLUTE_LIFETIME (run every minute)."

    def handle(self, *args, **options) -> None:
        ended = sessions_end_expired()
        if options["verbosity"] >= 1:
            self.stdout.write(f"{ended} session(s) ended.")
