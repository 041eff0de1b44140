import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="calendarday",
            name="source",
            field=models.CharField(
                blank=True,
                help_text="The notice that fixed this day, e.g. its title and URL.",
                max_length=300,
                verbose_name="source",
            ),
        ),
        migrations.AddField(
            model_name="calendarday",
            name="provisional",
            field=models.BooleanField(
                default=False,
                help_text="Derived from the statutory rules while the State Council notice for the year is awaited.",
                verbose_name="provisional",
            ),
        ),
        migrations.AddField(
            model_name="calendarday",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now, verbose_name="updated"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="workingperiod",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now, verbose_name="updated"),
            preserve_default=False,
        ),
    ]
