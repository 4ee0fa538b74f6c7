

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('imaging', '0005_series_thumbnail_count'),
    ]

    operations = [
        migrations.AddField(
            model_name='keyimage',
            name='released_with_report',
            field=models.BooleanField(default=False),
        ),
    ]
