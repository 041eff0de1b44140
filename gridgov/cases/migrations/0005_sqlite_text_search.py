"""The case list's text search on SQLite: an FTS5 trigram index over `cases_case(description, address)`, filled
from the cases there are and kept in step by triggers (see gridgov/cases/text_search.py). Nothing on
PostgreSQL, which has trigram GIN indexes (0003), nor on SQLite older than 3.34 (no trigram tokenizer: the
list keeps LIKE there).

The table and triggers live only in the database (raw SQL), not in the model's state."""

from django.db import migrations

from gridgov.cases import text_search


def create(apps, schema_editor):
    text_search.create(schema_editor.connection)


def drop(apps, schema_editor):
    text_search.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_open_cases_index")]

    operations = [migrations.RunPython(create, drop)]
