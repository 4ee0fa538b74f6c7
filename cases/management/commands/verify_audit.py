"""Walk the audit trail's hash chain and report the first broken link (exit status 1).

Run it daily from cron with ``--quiet``: it then prints nothing while the chain holds, and
a broken chain still reaches stderr (and cron's mail). README: "Checking the audit trail".
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from cases.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Check that no audit event was altered, deleted or reordered (hash chain)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet", action="store_true", help="print nothing when the chain is intact"
        )

    def handle(self, *args, quiet: bool = False, **options):
        report = audit_chain_verify()
        if report.broken is not None:
            raise CommandError(
                f"Audit trail broken after {report.checked} intact events: {report.broken}"
            )
        if not quiet:
            self.stdout.write(f"Audit trail intact: {report.checked} events chained.")
