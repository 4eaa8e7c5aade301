"""Sets each campaign's new `last_position` from the positions its leads already hold."""

from django.db import migrations

# One statement for every campaign; a campaign without leads keeps 0.
BACKFILL = """
UPDATE campaigns_campaign SET last_position = COALESCE(
    (SELECT MAX(position) FROM leads_lead WHERE leads_lead.campaign_id = campaigns_campaign.id),
    0
)
"""


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0008_campaign_last_position"),
        ("leads", "0013_lead_callback_reservation"),
    ]

    operations = [
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
