from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import get_perms, remove_perm

from cases.audit import audit
from cases.models import CaseInvite
from realtime.events import CaseAccessRevoked
from realtime.groups import case_group
from realtime.publish import publish_on_commit


class Command(BaseCommand):
    help = (
        "Remove the per-case grants of invitations that have expired and close the experts' "
        "open case sockets. Access already ends at expiry (the invite is checked on every "
        "request and by the case socket); this keeps the grant table tidy and tells every "
        "server process. Run it often, e.g. every few minutes from cron."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        expired = CaseInvite.objects.filter(
            revoked_at__isnull=True, expert__isnull=False, expires_at__lte=now
        ).select_related("case", "expert")
        count = 0
        for invite in expired:
            with transaction.atomic():
                still_open = CaseInvite.objects.filter(
                    case=invite.case,
                    expert=invite.expert,
                    revoked_at__isnull=True,
                    expires_at__gt=now,
                ).exists()
                if still_open:
                    continue  # a newer invitation extends the grant
                if "view_case" not in get_perms(invite.expert, invite.case):
                    continue  # swept before
                remove_perm("cases.view_case", invite.expert, invite.case)
                audit(
                    actor=None,
                    action="invite.expire",
                    case=invite.case,
                    target=invite,
                    detail={"expert": invite.expert.get_username(), "by": "expire_invites"},
                )
                publish_on_commit(
                    case_group(invite.case.uuid),
                    CaseAccessRevoked(case=str(invite.case.uuid), user=str(invite.expert.uuid)),
                )
                count += 1
        self.stdout.write(f"Removed {count} expired grant(s).")
