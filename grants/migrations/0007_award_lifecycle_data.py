"""The rows of the four-step award tracking moved into the lifecycle: a paid award is closed and
its payment becomes a settlement (精算払) of the confirmed amount, paid on the recorded day; a
returned report has the status "returned". Then the old column goes and the report constraint
reads the status."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    Award = apps.get_model("grants", "Award")
    Payment = apps.get_model("grants", "Payment")
    Report = apps.get_model("grants", "Report")
    for award in Award.objects.filter(status="paid"):
        Payment.objects.create(
            award=award,
            kind="settlement",
            status="paid",
            amount=award.confirmed_amount or 0,
            scheduled_on=award.paid_on,
            paid_on=award.paid_on,
        )
        award.status = "closed"
        award.save(update_fields=["status"])
    Report.objects.filter(returned_at__isnull=False).update(status="returned")


def backwards(apps, schema_editor):
    Award = apps.get_model("grants", "Award")
    Payment = apps.get_model("grants", "Payment")
    Report = apps.get_model("grants", "Report")
    for award in Award.objects.filter(status="closed"):
        settlement = Payment.objects.filter(award=award, kind="settlement", status="paid").first()
        award.status = "paid"
        award.paid_on = settlement.paid_on if settlement else None
        award.save(update_fields=["status", "paid_on"])
    Report.objects.filter(status="returned", returned_at__isnull=True).update(returned_at=models.F("submitted_at"))
    # The old counter has one row per fiscal year: the practice series (new) cannot go back with it.
    apps.get_model("grants", "DocumentCounter").objects.exclude(series="official").delete()


class Migration(migrations.Migration):
    dependencies = [("grants", "0006_award_lifecycle")]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="award", name="paid_on"),
        migrations.AddConstraint(
            model_name="report",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "returned"), _negated=True),
                fields=("award", "kind"),
                name="report_once_per_kind",
            ),
        ),
    ]
