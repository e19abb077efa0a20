from django.db import migrations, models


def mark_local_governments(apps, schema_editor):
    """The seed's 地方公共団体 type (code "local-government") registers with its 団体コード."""
    ApplicantType = apps.get_model("calls", "ApplicantType")
    ApplicantType.objects.filter(code="local-government").update(is_local_government=True)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0007_text_length_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="applicanttype",
            name="is_local_government",
            field=models.BooleanField(default=False, verbose_name="local government (地方公共団体)"),
        ),
        migrations.RunPython(mark_local_governments, migrations.RunPython.noop),
    ]
