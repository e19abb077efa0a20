"""Application.decision_disclosed_at, filled from the notices already e-mailed.

Until now a decision was shown to the organisation once its notice (grants.Notice) had been
e-mailed, read through the reverse relation. The moment now lives on the application; every
application whose notice was e-mailed gets that moment, so what organisations see is unchanged.
"""

from django.db import migrations, models


def disclose_notified_decisions(apps, schema_editor):
    Application = apps.get_model("applications", "Application")
    Notice = apps.get_model("grants", "Notice")
    if "emailed_at" not in {field.name for field in Notice._meta.get_fields()}:
        return  # a later grants migration has moved the sending elsewhere; nothing left to read
    notified = Notice.objects.filter(emailed_at__isnull=False).values_list("application_id", "emailed_at")
    for application_id, emailed_at in notified.iterator():
        Application.objects.filter(pk=application_id, decision_disclosed_at__isnull=True).update(
            decision_disclosed_at=emailed_at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0003_call_models_in_calls"),
        # grants.Notice (and its emailed_at) was created here.
        ("grants", "0003_documentcounter_call_adoptions_published_at_award_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="decision_disclosed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="decision disclosed at"),
        ),
        migrations.RunPython(disclose_notified_decisions, migrations.RunPython.noop),
    ]
