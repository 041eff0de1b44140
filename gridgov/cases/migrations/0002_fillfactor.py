"""PostgreSQL: leave room in each page of the busiest tables, so that an update (a new state, a sweep's flag)
can stay on its page (a HOT update) instead of touching every index. SQLite has no such setting."""

from django.db import migrations

TABLES = ("cases_case", "cases_deadline")


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 85)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
