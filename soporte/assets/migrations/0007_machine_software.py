"""The agent's package list of a machine moves to one MachineSoftware row per machine;
Installation keeps software entered by hand and the agent's licensed products."""

import django.db.models.deletion
from django.db import migrations, models

# The agent's rows, grouped into one JSON object per machine:
# {"<product id>": [version, first seen (Unix seconds)]}.
FORWARD = {
    "postgresql": """
        INSERT INTO assets_machinesoftware (asset_id, packages)
        SELECT asset_id, jsonb_object_agg(product_id::text, jsonb_build_array(
            version, floor(extract(epoch FROM installed_at))::bigint))
        FROM assets_installation WHERE source = 'agent' GROUP BY asset_id""",
    "sqlite": """
        INSERT INTO assets_machinesoftware (asset_id, packages)
        SELECT asset_id, json_group_object(CAST(product_id AS TEXT), json_array(
            version, CAST(strftime('%s', installed_at) AS INTEGER)))
        FROM assets_installation WHERE source = 'agent' GROUP BY asset_id""",
}
BACKWARD = {
    "postgresql": """
        INSERT INTO assets_installation (asset_id, product_id, version, source, installed_at)
        SELECT m.asset_id, e.key::bigint, e.value ->> 0, 'agent',
               to_timestamp((e.value ->> 1)::double precision)
        FROM assets_machinesoftware m, jsonb_each(m.packages) e
        ON CONFLICT DO NOTHING""",
    "sqlite": """
        INSERT INTO assets_installation (asset_id, product_id, version, source, installed_at)
        SELECT m.asset_id, CAST(e.key AS INTEGER), json_extract(e.value, '$[0]'),
               'agent', datetime(json_extract(e.value, '$[1]'), 'unixepoch')
        FROM assets_machinesoftware m, json_each(m.packages) e WHERE true
        ON CONFLICT DO NOTHING""",
}


def forward(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(FORWARD[connection.vendor])
        cursor.execute(
            "DELETE FROM assets_installation WHERE source = 'agent' AND product_id IN "
            "(SELECT id FROM assets_softwareproduct WHERE NOT licensed)"
        )


def backward(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(BACKWARD[connection.vendor])


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0006_installation_asset_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="MachineSoftware",
            fields=[
                (
                    "asset",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="machine_software",
                        serialize=False,
                        to="assets.asset",
                    ),
                ),
                ("packages", models.JSONField(default=dict)),
            ],
        ),
        migrations.AddIndex(
            model_name="softwareproduct",
            index=models.Index(
                condition=models.Q(("licensed", True)), fields=["id"], name="software_licensed"
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
