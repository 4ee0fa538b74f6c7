"""The decision models now live in the decisions app (decisions 0001 takes them over with
their tables): Django's state forgets them here, and the database is left as it is."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0002_decisions"),
        ("decisions", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="Report"),
                migrations.DeleteModel(name="ConsensusCosignature"),
                migrations.DeleteModel(name="Consensus"),
                migrations.DeleteModel(name="VoteChoice"),
                migrations.DeleteModel(name="Vote"),
                migrations.DeleteModel(name="VoteRound"),
                migrations.DeleteModel(name="Proposal"),
            ],
        ),
    ]
