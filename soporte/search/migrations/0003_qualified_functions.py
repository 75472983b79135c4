from django.db import migrations

# pg_restore (and psql on a pg_dump file) runs with an empty search_path, and computes the
# generated vector column while loading rows: every name in the function must be
# schema-qualified, or a dump of the database cannot be loaded back.
VECTOR = """CREATE OR REPLACE FUNCTION public.search_document_vector(title text, body text)
   RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
   AS $$ SELECT
     setweight(to_tsvector('english'::regconfig, public.search_unaccent(coalesce(title, ''))), 'A')
     || setweight(to_tsvector('spanish'::regconfig, public.search_unaccent(coalesce(title, ''))), 'A')
     || setweight(to_tsvector('english'::regconfig, public.search_unaccent(coalesce(body, ''))), 'D')
     || setweight(to_tsvector('spanish'::regconfig, public.search_unaccent(coalesce(body, ''))), 'D')
   $$"""


def qualify(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(VECTOR, params=None)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_scope_index")]

    operations = [migrations.RunPython(qualify, migrations.RunPython.noop)]
