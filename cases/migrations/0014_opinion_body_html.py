"""Opinions and their revisions keep their Markdown rendered and sanitized beside the source
(cases.markdown.RendersMarkdown), so pages never render it per view; existing rows are
rendered here, once. `manage.py rerender_markdown` does the same after a rules change."""

from django.db import migrations, models

from cases.markdown import render_markdown


def fill(apps, schema_editor):
    for name in ("Opinion", "OpinionRevision"):
        model = apps.get_model("cases", name)
        rows = list(model.objects.only("pk", "body"))
        for row in rows:
            row.body_html = render_markdown(row.body or "")
        model.objects.bulk_update(rows, ["body_html"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0013_requests_to_submitter"),
    ]

    operations = [
        migrations.AddField(
            model_name="opinion",
            name="body_html",
            field=models.TextField(default="", editable=False),
        ),
        migrations.AddField(
            model_name="opinionrevision",
            name="body_html",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
