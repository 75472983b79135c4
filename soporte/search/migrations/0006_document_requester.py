import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The ticket's requester on its documents (see models.Document.requester), copied from the
# tickets for the documents already written, as 0005 did the organization; the index is
# built after the copy. On SQLite the covering index that searches read each match's
# scope from (fts5.py) gains the column. No AlterField here: on SQLite it would rebuild
# the table and lose the FTS5 trigger.


def backfill(apps, schema_editor):
    Document = apps.get_model("search", "Document")
    Ticket = apps.get_model("tickets", "Ticket")
    document, ticket = Document._meta.db_table, Ticket._meta.db_table
    if schema_editor.connection.vendor == "postgresql":
        sql = (
            f"UPDATE {document} AS d SET requester_id = t.requester_id"  # noqa: S608
            f" FROM {ticket} AS t WHERE t.id = d.ticket_id"
        )
    else:
        sql = (
            f"UPDATE {document} SET requester_id = ("  # noqa: S608
            f" SELECT t.requester_id FROM {ticket} AS t WHERE t.id = {document}.ticket_id)"
            " WHERE ticket_id IS NOT NULL"
        )
    schema_editor.execute(sql, params=None)
    if schema_editor.connection.vendor == "postgresql":
        # Statistics for the new column, which the planner's choice of plan rests on.
        schema_editor.execute(f"ANALYZE {document}", params=None)


def scope_index(columns: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute("DROP INDEX IF EXISTS search_document_scope", params=None)
            schema_editor.execute(
                f"CREATE INDEX search_document_scope ON search_document ({columns})",
                params=None,
            )

    return run


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("tickets", "0001_initial"),
        ("search", "0005_document_organization"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="requester",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(fields=["requester"], name="search_document_requester"),
        ),
        migrations.RunPython(
            scope_index("id, ticket_id, internal, organization_id, requester_id"),
            scope_index("id, ticket_id, internal, organization_id"),
        ),
    ]
