"""Drops the lone index on leads_lead.campaign_id (see Lead.campaign).

Only the index goes: the AlterField Django would run for db_index=False also drops and re-adds
the foreign key, which re-checks every lead while it blocks writes to the table."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0008_campaign_last_position"),
        ("leads", "0014_campaign_last_position_backfill"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "leads_lead_campaign_id_5dd7a82a"',
                    reverse_sql=(
                        'CREATE INDEX "leads_lead_campaign_id_5dd7a82a" '
                        'ON "leads_lead" ("campaign_id")'
                    ),
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="lead",
                    name="campaign",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="leads",
                        to="campaigns.campaign",
                    ),
                ),
            ],
        ),
    ]
