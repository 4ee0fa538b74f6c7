"""Audit events are append-only in the database too: triggers refuse every UPDATE and DELETE
(board.write_once). Apart from 0004, whose UPDATEs chained the events already written."""

from django.db import migrations

from board.write_once import Guard, write_once_drop, write_once_install

GUARDS = [
    Guard(
        name="cases_auditevent_append_only",
        table="cases_auditevent",
        condition=None,
        message="audit events are append-only",
    ),
]


def install(apps, schema_editor):
    write_once_install(schema_editor, GUARDS)


def drop(apps, schema_editor):
    write_once_drop(schema_editor, GUARDS)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0004_audit_chain"),
    ]

    operations = [
        migrations.RunPython(install, drop),
    ]
