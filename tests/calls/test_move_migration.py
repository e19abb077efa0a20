"""Moving programmes, calls, themes and applicant types from ``grants`` to ``calls`` keeps every row.

The move is state-only (the tables keep their ``grants_*`` names), so a database that holds the
demo data is taken back to the migrations before the move, read there through the historical
``grants`` models, and migrated forwards again: every table keeps every row, and the current
models read the same calls, themes and applications as before.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from applications.models import Application
from calls.models import ApplicantType, Call, Programme, Theme
from grants.demo.loader import seed_demo

BEFORE_THE_MOVE = [
    ("grants", "0003_documentcounter_call_adoptions_published_at_award_and_more"),
    ("applications", "0002_alter_application_structure_alter_attachment_kind"),
    ("reviews", "0001_initial"),
    ("calls", None),
]
MOVED_TABLES = ["grants_applicanttype", "grants_programme", "grants_call", "grants_call_eligible_types", "grants_theme"]


def _row_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table == "django_migrations":
                continue
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def _leaf_nodes(executor: MigrationExecutor):
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_every_row_of_the_demo_data():
    seed_demo()
    before = _row_counts()
    assert all(before[table] > 0 for table in MOVED_TABLES), before
    calls_before = sorted(Call.objects.values_list("slug", "title", "cap_amount", "closes_at"))
    applications_before = sorted(Application.objects.values_list("pk", "call__slug", "theme__number", "title"))
    call_type = ContentType.objects.get_for_model(Call)

    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE_THE_MOVE)
        executor.loader.build_graph()
        old_state = executor.loader.project_state(BEFORE_THE_MOVE[:3])
        OldCall = old_state.apps.get_model("grants", "Call")
        assert sorted(OldCall.objects.values_list("slug", "title", "cap_amount", "closes_at")) == calls_before
        assert old_state.apps.get_model("grants", "Theme").objects.count() == before["grants_theme"]
        back = _row_counts()
        # Going back touched none of the moved tables (later migrations, undone on the way, may
        # bring back their own tables: those are left out of the comparison).
        assert {table: back[table] for table in MOVED_TABLES} == {table: before[table] for table in MOVED_TABLES}
        assert ContentType.objects.get(pk=call_type.pk).app_label == "grants"
    finally:
        # Forwards again, also when an assertion above failed, so later tests find the schema whole.
        executor = MigrationExecutor(connection)
        executor.migrate(_leaf_nodes(executor))
    # Every table of the schema before the move has its rows again (tables made by later
    # migrations, dropped on the way back, are those later migrations' own tests' concern).
    after = _row_counts()
    # (grants 0007 going back drops the practice series' counter: the old table has one row a year.)
    kept = [table for table in back if table in after and table != "grants_documentcounter"]
    assert {table: after[table] for table in kept} == {table: before[table] for table in kept}
    assert sorted(Call.objects.values_list("slug", "title", "cap_amount", "closes_at")) == calls_before
    assert sorted(Application.objects.values_list("pk", "call__slug", "theme__number", "title")) == applications_before
    assert Theme.objects.count() == before["grants_theme"]
    assert ApplicantType.objects.count() == before["grants_applicanttype"]
    assert Programme.objects.count() == before["grants_programme"]
    assert Call.objects.filter(eligible_types__isnull=False).distinct().count() > 0
    # Permissions and admin history follow the models: the content type is relabelled, not new.
    assert ContentType.objects.get(pk=call_type.pk).app_label == "calls"
