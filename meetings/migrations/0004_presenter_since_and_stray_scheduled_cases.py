"""The live state remembers since when its presenter holds the viewer (the grace period of a
presenter who never joined counts from then: meetings.live.live_return_control).

A case is scheduled only by being on the agenda of a scheduled meeting. The "Schedule" button
that moved a case there without a meeting is gone; a case it left stranded (scheduled, on no
scheduled meeting's agenda, so hidden from every agenda picker) goes back to "in review",
keeping its "ready for the board" mark, so that the chair can put it on an agenda."""

from django.db import migrations, models


def unstrand_scheduled_cases(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    AgendaItem = apps.get_model("meetings", "AgendaItem")
    on_agenda = AgendaItem.objects.filter(meeting__status="scheduled").values("case_id")
    Case.objects.filter(status="scheduled").exclude(pk__in=on_agenda).update(status="in_review")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_clinical_record"),
        ("meetings", "0003_attendance_seen_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="livesession",
            name="presenter_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(unstrand_scheduled_cases, migrations.RunPython.noop),
    ]
