"""Two facts a live decision needs: whether a vote round in a meeting takes ballots from
absent members (the board's rule, copied when the round opens), and why the chair signed a
consensus although the meeting's attendance quorum was not met.

Every existing round was opened under the old rule (anyone could vote) and keeps it; every
signed consensus gets an empty reason from the column's default, with no UPDATE of a signed
row. The write-once guard on cases_consensus is lifted around the schema change and put back
after it, as in 0005: SQLite rebuilds the table to add a NOT NULL column, and the rebuild's
DROP TABLE takes the old table's triggers with it."""

from django.db import migrations, models

from board.write_once import Guard, write_once_drop, write_once_install

CONSENSUS_GUARD = [
    Guard(
        name="decisions_consensus_signed_is_final",
        table="cases_consensus",
        condition="OLD.signed_at IS NOT NULL",
        message="a signed consensus never changes",
    ),
]


def install(apps, schema_editor):
    write_once_install(schema_editor, CONSENSUS_GUARD)


def drop(apps, schema_editor):
    write_once_drop(schema_editor, CONSENSUS_GUARD)


def rounds_so_far_let_anyone_vote(apps, schema_editor):
    VoteRound = apps.get_model("decisions", "VoteRound")
    VoteRound.objects.filter(meeting__isnull=False).update(absentees_may_vote=True)


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0006_guideline_catalogue"),
    ]

    operations = [
        migrations.RunPython(drop, install),
        migrations.AddField(
            model_name="consensus",
            name="quorum_reason",
            field=models.TextField(
                blank=True, verbose_name="reason for signing without the meeting's quorum"
            ),
        ),
        migrations.RunPython(install, drop),
        migrations.AddField(
            model_name="voteround",
            name="absentees_may_vote",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(rounds_so_far_let_anyone_vote, migrations.RunPython.noop),
    ]
