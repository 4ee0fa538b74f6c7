"""The audit trail becomes a hash chain: two columns, the head row, and the events already
written chained in id order (cases.audit explains the chain)."""

import datetime
import hashlib
import json

from django.db import migrations, models

GENESIS = "0" * 64


def _sha256(event) -> str:
    # Frozen copy of cases.audit.audit_event_content as of this migration.
    content = {
        "previous_sha256": event.previous_sha256,
        "at": event.at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "case": event.case_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "ip": event.ip,
        "outcome": str(event.outcome),
        "detail": event.detail,
    }
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def chain_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("cases", "AuditEvent")
    AuditChainHead = apps.get_model("cases", "AuditChainHead")
    db = schema_editor.connection.alias
    previous, last_id = GENESIS, None
    for event in AuditEvent.objects.using(db).order_by("id").iterator(chunk_size=2000):
        event.previous_sha256 = previous
        event.sha256 = _sha256(event)
        # The historical model has no append-only guard; the triggers come in 0005.
        AuditEvent.objects.using(db).filter(pk=event.pk).update(
            previous_sha256=event.previous_sha256, sha256=event.sha256
        )
        previous, last_id = event.sha256, event.pk
    AuditChainHead.objects.using(db).create(pk=1, event_id=last_id, sha256=previous)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0003_move_decisions"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="previous_sha256",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sha256",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event_id", models.BigIntegerField(null=True)),
                ("sha256", models.CharField(max_length=64)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="cases_auditchainhead_one_row"
                    )
                ],
            },
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop),
    ]
