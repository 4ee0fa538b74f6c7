"""What was signed stays as it was signed, in the database too (board.write_once): a signed
consensus, every co-signature and a ready report refuse UPDATE and DELETE. A draft consensus
changes and is deleted as before, and signing it (an UPDATE of a row not yet signed) passes;
a pending or failed report goes on through its lifecycle (decisions.reports) until ready."""

from django.db import migrations

from board.write_once import Guard, write_once_drop, write_once_install

GUARDS = [
    Guard(
        name="decisions_consensus_signed_is_final",
        table="cases_consensus",
        condition="OLD.signed_at IS NOT NULL",
        message="a signed consensus never changes",
    ),
    Guard(
        name="decisions_cosignature_is_final",
        table="cases_consensuscosignature",
        condition=None,
        message="a co-signature never changes",
    ),
    Guard(
        name="decisions_report_ready_is_final",
        table="cases_report",
        condition="OLD.status = 'ready'",
        message="a ready report never changes",
    ),
]


def install(apps, schema_editor):
    write_once_install(schema_editor, GUARDS)


def drop(apps, schema_editor):
    write_once_drop(schema_editor, GUARDS)


class Migration(migrations.Migration):

    dependencies = [
        ("decisions", "0003_report_ready_has_file"),
    ]

    operations = [
        migrations.RunPython(install, drop),
    ]
