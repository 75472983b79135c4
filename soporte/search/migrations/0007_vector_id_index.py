from django.db import migrations

# PostgreSQL: a GIN index on (vector, id, organization_id), the two integer columns
# through btree_gin, so a search over the newest documents (id > n) or an
# organization's is answered inside one index scan: the words' matches intersected with
# the id range and the organization before any row is read. With only the vector
# indexed, the planner either read every match's row to test its id, or walked the key
# index testing each row's vector (it misjudges how many documents a word matches).
# A multicolumn GIN index serves a condition on any of its columns alone as well as a
# single-column one: it replaces the vector's own index (postgres.py builds it again
# after a full reindex). btree_gin is a trusted extension: a database owner may create
# it. SQLite: nothing (FTS5 seeks to an id by itself).
CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX IF NOT EXISTS search_document_vector_id ON search_document"
    " USING gin (vector, id, organization_id)",
    "DROP INDEX IF EXISTS search_document_vector",
]
DROP = [
    "CREATE INDEX IF NOT EXISTS search_document_vector ON search_document USING gin (vector)",
    "DROP INDEX IF EXISTS search_document_vector_id",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0006_document_requester")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
