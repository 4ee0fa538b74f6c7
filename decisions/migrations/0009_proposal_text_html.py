"""Proposals keep their Markdown rendered and sanitized beside the source
(cases.markdown.RendersMarkdown); existing rows are rendered here, once."""

from django.db import migrations, models

from cases.markdown import render_markdown


def fill(apps, schema_editor):
    Proposal = apps.get_model("decisions", "Proposal")
    rows = list(Proposal.objects.only("pk", "text"))
    for row in rows:
        row.text_html = render_markdown(row.text or "")
    Proposal.objects.bulk_update(rows, ["text_html"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("decisions", "0008_expert_opinion"),
    ]

    operations = [
        migrations.AddField(
            model_name="proposal",
            name="text_html",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
