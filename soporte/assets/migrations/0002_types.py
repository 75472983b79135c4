"""The default asset types (soporte/assets/defaults.py)."""

from django.db import migrations

from soporte.assets.defaults import ensure_default_types


def create(apps, schema_editor):
    ensure_default_types(apps.get_model("assets", "AssetType"))


class Migration(migrations.Migration):
    dependencies = [("assets", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
