"""nc-record (issue 12, item 10): a past round imported as already decided records that its
notices were sent outside the portal (who, when, a note; audited; a staff action with a
server-checked confirmation); then its adopted list can be published, and the demo's r6-ninaite
shows its nine organisations on the public call page as the seed publishes them."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.models import Role
from applications.models import ApplicationStatus
from applications.services import application_import_decided
from grants import services
from grants.demo import data
from grants.models import Notice, NoticesSentOutside
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp
from tests.grants.test_decision_window import MATRIX, _user, post_outcome

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff(db):
    user = UserFactory(role=Role.STAFF, email="staff-outside@example.jp")
    enable_totp(user)
    return user


def imported_round(n=3, **call_kwargs):
    """A closed past round imported as decided (as the demo imports r6-ninaite): adopted, no notices."""
    call = CallFactory(opens_at=None, closes_at=None, closed_manually=True, **call_kwargs)
    applications = [
        application_import_decided(
            call=call,
            organisation=OrganisationFactory(name=f"一般社団法人 過去の団体{i}", email=f"past{i}@example.jp"),
            title=f"事業{i}",
            summary=f"概要{i}",
            area_prefectures=["13"],
            area_nationwide=False,
            note="コンソーシアムの代表団体" if i == 0 else "",
            submitted_at=None,
            outcome=ApplicationStatus.ADOPTED,
        )
        for i in range(n)
    ]
    return call, applications


# --- the service ---------------------------------------------------------------------------------


def test_recording_outside_notices_tells_the_organisations_and_audits(staff):
    call, applications = imported_round()
    entry = services.notices_record_outside(
        call=call, by=staff, note="ポータル外で通知済み", sent_on=dt.date(2024, 7, 1)
    )
    assert (entry.recorded_by, entry.note, entry.sent_on) == (staff, "ポータル外で通知済み", dt.date(2024, 7, 1))
    assert entry.recorded_at is not None
    assert set(entry.applications.all()) == set(applications)
    for application in applications:
        application.refresh_from_db()
        assert application.decision_is_disclosed
    audit = AuditEntry.objects.get(action="notices_recorded_outside")
    assert audit.actor == staff and audit.call_id == call.pk
    with translation.override("ja"):
        sentence = describe(audit)
    assert sentence.startswith("staff-outside@example.jp が ")
    assert "の通知をポータル外で送付したことを記録しました" in sentence and "ポータル外で通知済み" in sentence


def test_after_the_record_the_list_is_published_and_no_portal_notice_is_made(staff, django_capture_on_commit_callbacks):
    call, _applications = imported_round()
    with pytest.raises(Refused) as refused:
        services.adoptions_publish(call=call, publish=True, by=staff)
    assert refused.value.code == "unnotified"
    services.notices_record_outside(call=call, by=staff, note="ポータル外で通知済み")
    with django_capture_on_commit_callbacks(execute=True):
        _batch, pending = services.notices_prepare(call=call, created_by=staff)
    assert pending == [] and not Notice.objects.filter(application__call=call).exists()
    call = services.adoptions_publish(call=call, publish=True, by=staff)
    assert call.adoptions_published_at is not None


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("no note", "note"),
        ("open call", "call_open"),
        ("practice", "practice"),
        ("future", "sent_on"),
        ("nothing left", "nothing"),
        ("reviewer", "forbidden"),
    ],
)
def test_recording_outside_notices_is_refused(staff, case, code):
    if case == "open call":
        now = timezone.now()
        call = CallFactory(opens_at=now - dt.timedelta(days=1), closes_at=now + dt.timedelta(days=1))
        ApplicationFactory(call=call, status=ApplicationStatus.ADOPTED, receipt_number="O-0001")
    else:
        call, _ = imported_round(is_practice=(case == "practice"))
    if case == "nothing left":
        services.notices_record_outside(call=call, by=staff, note="一度目")
    by = UserFactory(role=Role.REVIEWER) if case == "reviewer" else staff
    sent_on = timezone.now().date() + dt.timedelta(days=2) if case == "future" else None
    with pytest.raises(Refused) as refused:
        services.notices_record_outside(call=call, by=by, note="" if case == "no note" else "備考", sent_on=sent_on)
    assert refused.value.code == code
    assert NoticesSentOutside.objects.filter(call=call).count() == (1 if case == "nothing left" else 0)


def test_a_decision_taken_in_the_portal_is_not_covered(staff):
    call = CallFactory()
    application = ApplicationFactory(
        call=call, status=ApplicationStatus.SUBMITTED, receipt_number="M-0001", requested_amount=1_000_000
    )
    services.decision_record(
        application=application, outcome=ApplicationStatus.ADOPTED, award_amount=1_000_000, decided_by=staff
    )
    with pytest.raises(Refused) as refused:
        services.notices_record_outside(call=call, by=staff, note="備考")
    assert refused.value.code == "nothing"
    application.refresh_from_db()
    assert not application.decision_is_disclosed


def test_applications_with_a_portal_notice_are_not_covered(staff, django_capture_on_commit_callbacks):
    call = CallFactory()
    noticed = ApplicationFactory(
        call=call, status=ApplicationStatus.SUBMITTED, receipt_number="N-0001", requested_amount=1_000_000
    )
    services.decision_record(
        application=noticed, outcome=ApplicationStatus.ADOPTED, award_amount=1_000_000, decided_by=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=call, created_by=staff)
    with pytest.raises(Refused) as refused:
        services.notices_record_outside(call=call, by=staff, note="備考")
    assert refused.value.code == "nothing"


# --- the staff page and action -----------------------------------------------------------------------


def errors(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


def test_the_notices_page_offers_the_record_with_a_confirmation(client, staff):
    call, _ = imported_round(n=2)
    client.force_login(staff)
    with translation.override("ja"):
        page = client.get(f"/staff/calls/{call.slug}/notices/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "ポータル外で送付した通知" in page
    assert "通知書のない決定済みの申請が2件あります。" in page
    assert f"/staff/calls/{call.slug}/notices/outside/" in page and 'id="confirm-outside-notices"' in page


def test_the_record_needs_the_confirmation_and_a_note(client, staff):
    call, _ = imported_round(n=2)
    url = f"/staff/calls/{call.slug}/notices/outside/"
    client.force_login(staff)
    response = client.post(url, {"note": "ポータル外で通知済み"})
    assert response.status_code == 302 and len(errors(response)) == 1
    client.get(response["Location"])
    response = client.post(url, {"note": "", "confirm": "1"})
    assert response.status_code == 302 and len(errors(response)) == 1
    client.get(response["Location"])
    assert not NoticesSentOutside.objects.exists()
    response = client.post(url, {"note": "ポータル外で通知済み", "sent_on": "2024-07-01", "confirm": "1"})
    assert response["Location"] == f"/staff/calls/{call.slug}/notices/"
    entry = NoticesSentOutside.objects.get(call=call)
    assert (entry.recorded_by, entry.sent_on) == (staff, dt.date(2024, 7, 1))
    with translation.override("ja"):
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'data-testid="outside-record"' in page and "staff-outside@example.jp" in page
    assert "2024年7月1日" in page and "ポータル外で通知済み" in page
    assert f"/staff/calls/{call.slug}/notices/outside/" not in page  # nothing left to record


@pytest.mark.parametrize("who", list(MATRIX))
def test_permission_matrix_of_recording_outside_notices(client, who):
    call, _ = imported_round(n=1)
    user = _user(who)
    if user is not None:
        client.force_login(user)
    response = client.post(f"/staff/calls/{call.slug}/notices/outside/", {"note": "備考", "confirm": "1"})
    assert post_outcome(response, f"/staff/calls/{call.slug}/notices/") == MATRIX[who]
    assert NoticesSentOutside.objects.filter(call=call).exists() == (MATRIX[who] == "ok")


# --- the public record -----------------------------------------------------------------------------


def test_the_published_list_shows_on_the_call_page_with_the_note(client, staff):
    call, applications = imported_round()
    page = client.get(f"/calls/{call.slug}/").content.decode()
    assert 'data-testid="adopted-projects"' not in page  # not published yet
    services.notices_record_outside(call=call, by=staff, note="備考")
    services.adoptions_publish(call=call, publish=True, by=staff)
    page = client.get(f"/calls/{call.slug}/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert page.count('data-testid="adopted-project"') == 3
    assert page.count('data-testid="adopted-note"') == 1 and "※コンソーシアムの代表団体" in page
    for application in applications:
        assert application.title in page and application.summary in page
    adopted = client.get(f"/calls/{call.slug}/adopted/").content.decode()
    assert "※コンソーシアムの代表団体" in adopted


def test_the_call_pages_queries_do_not_grow_with_the_adopted_list(client, staff):
    def queries(call):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/calls/{call.slug}/").status_code == 200
        return len(captured)

    small, _ = imported_round(n=1)
    large, _ = imported_round(n=6)
    for call in (small, large):
        services.notices_record_outside(call=call, by=staff, note="備考")
        services.adoptions_publish(call=call, publish=True, by=staff)
    assert queries(small) == queries(large)


@pytest.fixture
def demo(db):
    from grants.demo.loader import seed_demo

    return seed_demo()


@pytest.mark.parametrize("language", ["ja", "en"])
def test_r6_ninaite_shows_the_nine_adopted_organisations_as_the_seed_publishes_them(client, demo, language):
    with translation.override(language):
        page = client.get("/calls/r6-ninaite/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert page.count('data-testid="adopted-project"') == 9
    heading = "採択事業一覧" if language == "ja" else "Adopted projects"
    assert heading in page
    positions = []
    for row in data.NINAITE_ADOPTED:
        assert row["organisation"] in page
        assert row["title"] in page
        for line in row["summary"].split("\n"):
            assert line in page
        area = row["area_as_printed"] if language == "ja" else row["area_as_printed"].replace("全国", "Nationwide")
        assert area in page
        positions.append(page.index(row["organisation"]))
    assert positions == sorted(positions)  # in the seed's order
    assert page.count('data-testid="adopted-note"') == 1
    hyogo = page.index("公益財団法人 ひょうごコミュニティ財団")
    assert page.index("※コンソーシアムの代表団体") > hyogo


def test_the_demo_records_r6_ninaites_outside_notices_and_publishes_it(demo):
    from calls.models import Call

    call = Call.objects.get(slug="r6-ninaite")
    assert call.adoptions_published_at is not None
    [entry] = NoticesSentOutside.objects.filter(call=call)
    assert entry.recorded_by.email == "staff@example.jp"
    assert entry.sent_on is None  # the seed gives no date
    assert entry.note == data.NINAITE_NOTICES_NOTE
    assert entry.applications.count() == 9
    assert not Notice.objects.filter(application__call=call).exists()
    assert AuditEntry.objects.filter(call_id=call.pk, action="notices_recorded_outside").count() == 1
    assert AuditEntry.objects.filter(call_id=call.pk, action="adoptions_published").count() == 1


def test_seeding_again_changes_nothing_and_keeps_a_withdrawal(demo, staff):
    from calls.models import Call
    from grants.demo.loader import seed_demo

    call = Call.objects.get(slug="r6-ninaite")
    services.adoptions_publish(call=call, publish=False, by=staff)
    seed_demo()
    call.refresh_from_db()
    assert call.adoptions_published_at is None
    assert NoticesSentOutside.objects.filter(call=call).count() == 1
