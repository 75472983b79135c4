from django.db import migrations

# SQLite: a narrow covering index that a search reads each match's ticket and internal
# flag from (fts5.py names it with INDEXED BY), instead of the wide document rows.
# PostgreSQL plans its own way and needs none.


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE INDEX search_document_scope ON search_document (id, ticket_id, internal)",
            params=None,
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP INDEX IF EXISTS search_document_scope", params=None)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
