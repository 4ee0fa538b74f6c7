"""A signed version gets a report per audience (panel, referrer, patient): the one-to-one link
becomes a foreign key with one copy per (consensus, audience).

Every report made before this migration held everything, so it becomes the panel copy: the
new column's default fills it in as the column is added, with no UPDATE of a ready row. The
write-once guard on cases_report is lifted around the schema change and put back after it:
SQLite rebuilds the table to change the column (a copy, then DROP TABLE, which takes the
old table's triggers with it), so the guard has to be installed on the new table; on
PostgreSQL the ALTERs update no row, and reinstalling is harmless."""

import django.db.models.deletion
from django.db import migrations, models

from board.write_once import Guard, write_once_drop, write_once_install

REPORT_GUARD = [
    Guard(
        name="decisions_report_ready_is_final",
        table="cases_report",
        condition="OLD.status = 'ready'",
        message="a ready report never changes",
    ),
]


def install(apps, schema_editor):
    write_once_install(schema_editor, REPORT_GUARD)


def drop(apps, schema_editor):
    write_once_drop(schema_editor, REPORT_GUARD)


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0004_write_once"),
    ]

    operations = [
        migrations.RunPython(drop, install),
        migrations.AddField(
            model_name="report",
            name="audience",
            field=models.CharField(
                choices=[
                    ("panel", "Panel copy"),
                    ("referrer", "Referrer copy"),
                    ("patient", "Patient copy"),
                ],
                default="panel",
                max_length=8,
            ),
        ),
        migrations.AlterField(
            model_name="report",
            name="consensus",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reports",
                to="decisions.consensus",
            ),
        ),
        migrations.AddConstraint(
            model_name="report",
            constraint=models.UniqueConstraint(
                fields=("consensus", "audience"), name="decisions_report_one_per_audience"
            ),
        ),
        migrations.RunPython(install, drop),
    ]
