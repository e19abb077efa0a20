"""The NPO model survey's project questions moved from columns into the calls' forms (issue 16,
item 2; applications migration 0012): on the demo data, taken back to the columns and forwards
again, every application reads as it did before the move — on the staff, applicant and reviewer
pages, in the receipt PDF, in the reviewers' dossier and in the adoption-list exports.

"Before" is ``tests/applications/data/npo_form_before.json``: the same snapshot
(``npo_form_snapshot.snapshot``) taken of the demo data on the code before the move (commit
3fd1e93, where these texts were columns of the application).
"""

import json

import pytest

from applications.models import Answer, Application, ApplicationStatus
from calls.models import FormField, FormVersion, FormVersionStatus
from calls.standard_form import PROJECT_KEYS, PROJECT_SECTION_KEY
from grants.demo.loader import seed_demo
from tests.support.migrations import migrated_back

from .npo_form_snapshot import BEFORE, snapshot, without_moments

BEFORE_THE_MOVE = [("applications", "0011_list_indexes")]


# The demo's fictional scores follow the applications' ids: the ids start at 1, as when the
# snapshot was taken (reset_sequences), whatever tests ran before in the same database.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_demo_data_reads_the_same_after_the_move():
    seed_demo()
    texts = {
        (application_id, key): text
        for application_id, key, text in Answer.objects.filter(field_key__in=PROJECT_KEYS).values_list(
            "application_id", "field_key", "text"
        )
    }
    assert texts, "the demo applications answer the project questions"
    with migrated_back(BEFORE_THE_MOVE) as old:
        # Backwards, the texts are the application's columns again, and no answer holds them.
        OldApplication = old.get_model("applications", "Application")
        columns = {
            (row["pk"], key): row[key]
            for row in OldApplication.objects.values("pk", *PROJECT_KEYS)
            for key in PROJECT_KEYS
            if row[key]
        }
        assert columns == texts
        assert not old.get_model("applications", "Answer").objects.filter(field_key__in=PROJECT_KEYS).exists()
        assert not old.get_model("calls", "FormSection").objects.filter(key=PROJECT_SECTION_KEY).exists()

    # Forwards: every text is an answer again, under the version its application is shown with.
    moved = {
        (answer.application_id, answer.field_key): answer
        for answer in Answer.objects.filter(field_key__in=PROJECT_KEYS).select_related("application")
    }
    assert {key: answer.text for key, answer in moved.items()} == texts
    for answer in moved.values():
        version = (
            answer.application.form_version_id
            or FormVersion.objects.get(call_id=answer.application.call_id, status=FormVersionStatus.PUBLISHED).pk
        )
        assert answer.form_version_id == version
        assert FormField.objects.filter(version_id=version, key=answer.field_key, section__key="project").exists()
    # A submitted application is shown with a version that asks the questions.
    for application in Application.objects.exclude(status=ApplicationStatus.DRAFT):
        assert application.form_version_id is not None, application
        assert application.form_version.sections.filter(key=PROJECT_SECTION_KEY).exists()

    after = without_moments(snapshot())
    before = without_moments(json.loads(BEFORE.read_text(encoding="utf-8")))
    assert sorted(after["applications"]) == sorted(before["applications"])
    for name, was in before["applications"].items():
        now = after["applications"][name]
        for part in sorted(was):
            assert now.get(part) == was[part], f"{name}: {part} differs"
    assert after["exports"] == before["exports"]
