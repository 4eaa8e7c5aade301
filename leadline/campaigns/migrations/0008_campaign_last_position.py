from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0007_dial_mode"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="last_position",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
    ]
