"""The columns of the project questions go, once their texts are answers (0012; PostgreSQL cannot
alter a table in the transaction that has just updated its rows)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0012_project_questions_as_form"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="application",
            name="applications_application_purpose_max_length",
        ),
        migrations.RemoveConstraint(
            model_name="application",
            name="applications_application_target_people_max_length",
        ),
        migrations.RemoveConstraint(
            model_name="application",
            name="applications_application_activities_max_length",
        ),
        migrations.RemoveConstraint(
            model_name="application",
            name="applications_application_structure_max_length",
        ),
        migrations.RemoveConstraint(
            model_name="application",
            name="applications_application_partners_max_length",
        ),
        migrations.RemoveConstraint(
            model_name="application",
            name="applications_application_expected_results_max_length",
        ),
        migrations.RemoveConstraint(
            model_name="application",
            name="applications_application_schedule_max_length",
        ),
        migrations.RemoveField(
            model_name="application",
            name="activities",
        ),
        migrations.RemoveField(
            model_name="application",
            name="expected_results",
        ),
        migrations.RemoveField(
            model_name="application",
            name="partners",
        ),
        migrations.RemoveField(
            model_name="application",
            name="purpose",
        ),
        migrations.RemoveField(
            model_name="application",
            name="schedule",
        ),
        migrations.RemoveField(
            model_name="application",
            name="structure",
        ),
        migrations.RemoveField(
            model_name="application",
            name="target_people",
        ),
    ]
