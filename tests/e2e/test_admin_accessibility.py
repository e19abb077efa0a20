"""The Django admin as the portal's administrators use it (issue 12, item 8), in Chromium: in
Japanese and in English, at 1280 and 390 px, axe finds nothing serious or critical on the index,
the calls (with their themes), programmes, applicant types (a list-editable changelist),
organisations, applications, users, periodic tasks, groups and the audit trail — and the pages
speak the language chosen (one アカウント section, third-party sections translated)."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from tests.e2e.axe import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

ADMINISTRATOR = "admin@example.jp"
WIDTHS = (1280, 390)


@pytest.fixture
def demo(live_server):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from grants.demo.loader import seed_demo

    seed_demo()
    every = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="reminders", task="grants.tasks.enqueue_reminders", interval=every)
    return live_server.url


def admin_pages() -> list[str]:
    from django_celery_beat.models import PeriodicTask

    from applications.models import Application, Organisation
    from calls.models import Call, Programme

    call = Call.objects.filter(themes__isnull=False).order_by("pk").first()
    application = Application.objects.exclude(receipt_number=None).order_by("pk").first()
    administrator = get_user_model().objects.get(email=ADMINISTRATOR)
    return [
        "/admin/",
        "/admin/calls/call/",
        f"/admin/calls/call/{call.pk}/change/",
        "/admin/calls/call/add/",
        f"/admin/calls/programme/{Programme.objects.order_by('pk').first().pk}/change/",
        "/admin/calls/applicanttype/",  # list-editable: every order box says which type it orders
        "/admin/applications/organisation/",
        f"/admin/applications/organisation/{Organisation.objects.order_by('pk').first().pk}/change/",
        "/admin/applications/application/?status__exact=submitted",
        f"/admin/applications/application/{application.pk}/change/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{administrator.pk}/change/",
        "/admin/accounts/user/add/",
        "/admin/django_celery_beat/periodictask/",
        f"/admin/django_celery_beat/periodictask/{PeriodicTask.objects.get(name='reminders').pk}/change/",
        "/admin/django_celery_beat/periodictask/add/",
        "/admin/auth/group/add/",
        "/admin/kodoku_portal/auditentry/?action=decision",
    ]


def log_in(page: Page, base: str) -> None:
    from tests.e2e.test_csp import Watch
    from tests.e2e.test_csp import log_in as log_in_with_totp

    log_in_with_totp(Watch(page, base), ADMINISTRATOR)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_admin_pages_staff_use_are_accessible_in_both_languages_and_widths(page: Page, demo, language):
    log_in(page, demo)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": demo}])
    pages = admin_pages()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in pages:
            response = page.goto(f"{demo}{path}")
            assert response is not None and response.status == 200, path
            expect(page.locator("html")).to_have_attribute("lang", language)
            assert_accessible(page)

    page.goto(f"{demo}/admin/")
    sections = page.locator("#content-main caption")
    if language == "ja":
        expect(sections.filter(has_text="アカウント")).to_have_count(1)
        for name in ("定期実行", "二段階認証", "ログイン用メールアドレス", "操作履歴と送信記録"):
            expect(sections.filter(has_text=name)).to_have_count(1)
        expect(page.get_by_role("link", name="定期タスク", exact=True).first).to_be_visible()
    else:
        expect(sections.filter(has_text="Accounts")).to_have_count(1)
        expect(sections.filter(has_text="Scheduled tasks")).to_have_count(1)


def test_a_list_editable_row_and_a_split_date_time_say_what_they_are(page: Page, demo):
    log_in(page, demo)
    page.goto(f"{demo}/admin/calls/applicanttype/")
    expect(page.get_by_label("表示順", exact=False).first).to_be_visible()
    boxes = page.locator("input[name$='-order']")
    assert boxes.count() > 1
    labels = {boxes.nth(i).get_attribute("aria-label") for i in range(boxes.count())}
    assert len(labels) == boxes.count()  # each names its own row
    page.goto(f"{demo}/admin/django_celery_beat/periodictask/add/")
    expect(page.get_by_label("開始日時（日付）")).to_be_visible()
    expect(page.get_by_label("開始日時（時刻）")).to_be_visible()
