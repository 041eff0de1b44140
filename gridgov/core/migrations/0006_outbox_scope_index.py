from django.db import migrations, models


class Migration(migrations.Migration):
    """The live pages ask "anything newer than id N in my towns?" every second: one index range per town."""

    dependencies = [
        ("core", "0005_idempotent_response"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(fields=["grid_l1_id", "id"], name="outbox_scope"),
        ),
    ]
