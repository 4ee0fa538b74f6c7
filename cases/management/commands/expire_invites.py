from django.core.management.base import BaseCommand
from django.utils import timezone
from guardian.shortcuts import remove_perm

from cases.models import CaseInvite


class Command(BaseCommand):
    help = (
        "Remove the per-case grants of invitations that have expired. Access already ends at "
        "expiry (the invite is checked on every request); this keeps the grant table tidy. "
        "Run it daily, e.g. from cron."
    )

    def handle(self, *args, **options):
        expired = CaseInvite.objects.filter(
            revoked_at__isnull=True, expires_at__lte=timezone.now()
        ).select_related("case", "expert")
        count = 0
        for invite in expired:
            still_open = CaseInvite.objects.filter(
                case=invite.case,
                expert=invite.expert,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            ).exists()
            if not still_open:
                remove_perm("cases.view_case", invite.expert, invite.case)
                count += 1
        self.stdout.write(f"Removed {count} expired grant(s).")
