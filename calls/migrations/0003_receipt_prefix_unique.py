"""A receipt prefix belongs to one call (receipt numbers are unique across calls, so a second call
with the same prefix could never number a submission). Calls that already share one keep it on the
first (oldest) call; each later one gets the prefix with its id appended, within 12 characters.
Receipt numbers already issued are not changed."""

from django.db import migrations, models


def separate_shared_prefixes(apps, schema_editor):
    Call = apps.get_model("calls", "Call")
    taken = set()
    for call in Call.objects.order_by("id"):
        prefix = call.receipt_prefix
        if prefix in taken:
            suffix = f"-{call.pk}"
            prefix = call.receipt_prefix[: 12 - len(suffix)] + suffix
            call.receipt_prefix = prefix
            call.save(update_fields=["receipt_prefix"])
        taken.add(prefix)


class Migration(migrations.Migration):
    dependencies = [("calls", "0002_award_lifecycle_settings")]

    operations = [
        migrations.RunPython(separate_shared_prefixes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="call",
            name="receipt_prefix",
            field=models.CharField(
                help_text="Receipt numbers read PREFIX-0001, PREFIX-0002, …",
                max_length=12,
                unique=True,
                verbose_name="receipt number prefix",
            ),
        ),
    ]
