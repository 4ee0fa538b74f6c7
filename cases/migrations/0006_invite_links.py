import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def earlier_invites_were_accepted_when_made(apps, schema_editor):
    # Before links, an invitation named its account at once: it counts as accepted then,
    # sent to the address that account had.
    CaseInvite = apps.get_model("cases", "CaseInvite")
    for invite in CaseInvite.objects.select_related("expert"):
        invite.email = invite.expert.email or ""
        invite.accepted_at = invite.created_at
        invite.save(update_fields=["email", "accepted_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_audit_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="caseinvite",
            name="accepted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="caseinvite",
            name="email",
            field=models.EmailField(default="", max_length=254, verbose_name="sent to"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="caseinvite",
            name="name",
            field=models.CharField(blank=True, max_length=200, verbose_name="name"),
        ),
        migrations.AddField(
            model_name="caseinvite",
            name="token_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="caseinvite",
            name="expert",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="case_invites",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(earlier_invites_were_accepted_when_made, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="caseinvite",
            constraint=models.UniqueConstraint(
                condition=models.Q(("token_hash", ""), _negated=True),
                fields=("token_hash",),
                name="cases_invite_token_hash_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="caseinvite",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("accepted_at__isnull", True), ("expert__isnull", True)),
                    models.Q(("accepted_at__isnull", False), ("expert__isnull", False)),
                    _connector="OR",
                ),
                name="cases_invite_expert_iff_accepted",
            ),
        ),
    ]
