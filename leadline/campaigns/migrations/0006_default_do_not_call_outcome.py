"""Existing campaigns get the default "Do Not Call" outcome that new campaigns are created with.

Skipped: a campaign with no outcomes yet (it receives the whole default taxonomy when it is
first configured), and one that already has a do-not-call outcome or an outcome of that label
(the operator's own configuration stays as it is). Going back removes only the outcomes this
migration could have added: the default label with the flag set.
"""

from django.db import migrations
from django.db.models import Max

LABEL = "Do Not Call"  # campaigns.models.DO_NOT_CALL_OUTCOME, frozen as of this migration


def add_outcome(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    Outcome = apps.get_model("campaigns", "Outcome")
    campaigns = Campaign.objects.exclude(outcomes__do_not_call=True).exclude(
        outcomes__label=LABEL
    )
    added = []
    for campaign in campaigns.iterator():
        last = Outcome.objects.filter(campaign_id=campaign.pk).aggregate(last=Max("position"))
        if last["last"] is None:
            continue  # no outcomes yet
        added.append(
            Outcome(
                campaign_id=campaign.pk,
                position=last["last"] + 1,
                label=LABEL,
                connected=True,
                effect="final",
                do_not_call=True,
            )
        )
    Outcome.objects.bulk_create(added, batch_size=500)


def remove_outcome(apps, schema_editor):
    Outcome = apps.get_model("campaigns", "Outcome")
    Outcome.objects.filter(label=LABEL, do_not_call=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0005_outcome_do_not_call"),
    ]

    operations = [migrations.RunPython(add_outcome, remove_outcome)]
