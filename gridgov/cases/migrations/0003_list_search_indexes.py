"""Indexes of the case list's filters that the model's indexes do not serve.

- Under supervision (督办): a partial index of the few supervised cases, newest first, so that the filter stops
  after a page instead of walking a subtree's cases (SQLite and PostgreSQL alike).
- Text search (`description` / `address` contains, LIKE '%…%'): on PostgreSQL, trigram GIN indexes (pg_trgm),
  which answer a rare word without reading the table; a common word stops early on the newest-first index
  anyway. SQLite has no such index: there the newest-first walk with LIMIT is what keeps it fast.

The indexes live only in the database (raw SQL), not in the model's state: they serve filters, never a
constraint, and `makemigrations` has nothing to say about them."""

from django.db import migrations

SUPERVISED = "CREATE INDEX IF NOT EXISTS case_supervised ON cases_case (id DESC) WHERE supervised > 0"
TRIGRAM = (
    "CREATE INDEX IF NOT EXISTS case_description_trgm ON cases_case USING gin (description gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS case_address_trgm ON cases_case USING gin (address gin_trgm_ops)",
)


def create(apps, schema_editor):
    schema_editor.execute(SUPERVISED)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for sql in TRIGRAM:
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS case_supervised")
    if schema_editor.connection.vendor == "postgresql":
        # The extension stays: other tables may use it.
        schema_editor.execute("DROP INDEX IF EXISTS case_description_trgm")
        schema_editor.execute("DROP INDEX IF EXISTS case_address_trgm")


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_fillfactor")]

    operations = [migrations.RunPython(create, drop)]
