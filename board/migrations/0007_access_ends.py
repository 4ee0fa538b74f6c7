import datetime

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def existing_tokens_keep_working_for_a_while(apps, schema_editor):
    # Tokens made before scopes existed could read and upload: they keep that (a client
    # sending images must not start failing without warning) and the account page now shows
    # it; like new tokens, they expire API_TOKEN_DAYS after this migration.
    ApiToken = apps.get_model("board", "ApiToken")
    expires_at = timezone.now() + datetime.timedelta(days=settings.API_TOKEN_DAYS)
    ApiToken.objects.update(scope="imaging_upload", expires_at=expires_at)


class Migration(migrations.Migration):
    dependencies = [
        ("board", "0006_board_send_report_to_patient"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="pending_email",
            field=models.EmailField(
                blank=True, max_length=254, verbose_name="new email address, unconfirmed"
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[
                    ("imaging_read", "Read images"),
                    ("imaging_upload", "Read and upload images"),
                ],
                default="imaging_read",
                max_length=16,
                verbose_name="scope",
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True, verbose_name="expires"),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="last_used_ip",
            field=models.GenericIPAddressField(
                blank=True, null=True, verbose_name="last used from"
            ),
        ),
        migrations.RunPython(existing_tokens_keep_working_for_a_while, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(verbose_name="expires"),
        ),
        migrations.AddConstraint(
            model_name="apitoken",
            constraint=models.CheckConstraint(
                condition=models.Q(("scope__in", ["imaging_read", "imaging_upload"])),
                name="board_apitoken_scope_valid",
            ),
        ),
    ]
