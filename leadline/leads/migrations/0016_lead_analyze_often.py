"""Has autovacuum re-analyze leads_lead after every 50,000 changed rows, whatever its size.

PostgreSQL's default waits for a tenth of the table to change: on a table of ten million leads a
new campaign could take a million before the planner learned it was not empty, and until then
it may pick plans made for an empty campaign (see Lead.campaign). ANALYZE reads a fixed sample
(about 30,000 rows), so doing it more often costs the same each time; autovacuum still looks at
most once a minute (autovacuum_naptime)."""

from django.db import migrations

TABLE = "leads_lead"


def analyze_often(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} SET (autovacuum_analyze_scale_factor = 0, "
            "autovacuum_analyze_threshold = 50000)"
        )


def analyze_by_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} RESET (autovacuum_analyze_scale_factor, "
            "autovacuum_analyze_threshold)"
        )


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0015_lead_campaign_no_lone_index"),
    ]

    operations = [
        migrations.RunPython(analyze_often, analyze_by_default),
    ]
