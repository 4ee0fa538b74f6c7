from django.db import migrations, models


class Migration(migrations.Migration):
    # Apart from 0002: on PostgreSQL a table whose rows were just changed in the same
    # transaction cannot take a constraint ("pending trigger events").

    dependencies = [
        ("decisions", "0002_report_status"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='report',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'ready'), models.Q(('sha256', ''), _negated=True), ('size__isnull', False), models.Q(('file', ''), _negated=True)), models.Q(models.Q(('status', 'ready'), _negated=True), ('sha256', '')), _connector='OR'), name='decisions_report_ready_has_file'),
        ),
    ]
