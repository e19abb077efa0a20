"""seed_demo holds the seed document's real figures and can run twice without changing anything."""

import datetime as dt
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role, User
from applications.models import Application, ApplicationStatus, Organisation
from calls.models import AreaRule, Call, CallState, Theme
from grants.demo import data
from grants.demo.loader import seed_demo
from kodoku_portal.jp import JST

SEED = (Path(__file__).resolve().parents[2] / "docs" / "seed" / "000_1df8d554d3060946.txt").read_text()


def squash(text: str) -> str:
    """The seed as extracted from a PDF breaks lines inside words: compare without whitespace or tags."""
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", text))


SEED_SQUASHED = squash(SEED)

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    seed_demo()


def test_npo_model_call_has_the_seed_figures(seeded):
    call = Call.objects.get(slug="r7-npo-model")
    assert call.title == "地域における孤独・孤立対策に関するNPO等の取組モデル調査"
    assert call.opens_at == dt.datetime(2025, 4, 21, 0, 0, tzinfo=JST)
    assert call.closes_at == dt.datetime(2025, 5, 30, 12, 0, tzinfo=JST)
    assert call.closes_at.astimezone(JST).weekday() == 4  # Friday
    assert call.cap_amount == 2_000_000
    assert call.budget_total == 240_000_000
    assert call.subsidy_rate_percent == 100
    assert {t.code for t in call.eligible_types.all()} == set(data.NON_PROFIT_CORPORATIONS)
    assert not call.eligible_types.filter(code__in=["for-profit", "local-government"]).exists()
    assert call.state_at(timezone.now()) == CallState.CLOSED


def test_npo_model_themes_and_examples_are_copied_exactly(seeded):
    themes = list(Theme.objects.filter(call__slug="r7-npo-model").order_by("number"))
    assert [t.marker for t in themes] == ["①", "②", "③", "④"]
    for theme in themes:
        assert squash(theme.title) in SEED_SQUASHED
        for example in theme.example_list:
            assert squash(example) in SEED_SQUASHED, example
    assert sum(len(t.example_list) for t in themes) == 9
    assert "大工仕事などを通じた中年・シニア世代の交流の場（日本版メンズ・シェッド）" in themes[1].example_list


def test_ninaite_has_the_nine_adopted_organisations_exactly_as_the_seed(seeded):
    call = Call.objects.get(slug="r6-ninaite")
    assert call.area_rule == AreaRule.WIDER_THAN_ONE_PREFECTURE
    applications = list(Application.objects.filter(call=call).select_related("organisation").order_by("receipt_number"))
    assert len(applications) == 9
    for application, row in zip(applications, data.NINAITE_ADOPTED, strict=True):
        assert application.status == ApplicationStatus.ADOPTED
        assert application.receipt_number.startswith("R6NINAITE-")
        assert application.organisation.name == row["organisation"]
        assert application.area_display == row["area_as_printed"]
        for text in (application.organisation.name, application.title, application.summary):
            assert squash(text) in SEED_SQUASHED, text
        # 団体名 (都道府県) as the seed prints it, e.g. 特定非営利活動法人 イシュープラスデザイン (東京都)
        assert squash(f"{application.organisation.name}({application.organisation.get_prefecture_display()})") in (
            SEED_SQUASHED
        )
    by_name = {a.organisation.name: a for a in applications}
    assert by_name["特定非営利活動法人 イシュープラスデザイン"].area_prefectures == ["01"]  # 北海道 alone
    assert by_name["公益財団法人 ひょうごコミュニティ財団"].area_display == "兵庫県 茨城県 岐阜県 全国"
    assert by_name["公益財団法人 ひょうごコミュニティ財団"].note == "コンソーシアムの代表団体"


def test_kofukin_call_is_for_local_governments_with_the_menu(seeded):
    call = Call.objects.get(slug="r7-kofukin")
    assert call.budget_total == 140_000_000
    assert [t.code for t in call.eligible_types.all()] == ["local-government"]
    assert call.menu_items[0] == "地方版官民連携プラットフォームの構築"
    for item in call.menu_items:
        assert squash(item) in SEED_SQUASHED


def test_practice_call_is_open_for_thirty_days_with_the_same_rules(seeded):
    practice = Call.objects.get(slug="practice")
    model = Call.objects.get(slug="r7-npo-model")
    assert practice.is_practice
    assert practice.state == CallState.OPEN
    assert practice.cap_amount == model.cap_amount == 2_000_000
    assert set(practice.eligible_types.all()) == set(model.eligible_types.all())
    assert practice.themes.count() == 4
    assert practice.closes_at.astimezone(JST).time() == dt.time(12, 0)
    days = (practice.closes_at - practice.opens_at).total_seconds() / 86400
    assert 29.5 <= days <= 31


def test_practice_window_is_kept_on_a_later_run():
    seed_demo(now=dt.datetime(2026, 1, 1, 9, 0, tzinfo=JST))
    first = Call.objects.values_list("opens_at", "closes_at").get(slug="practice")
    seed_demo(now=dt.datetime(2026, 3, 1, 9, 0, tzinfo=JST))
    assert Call.objects.values_list("opens_at", "closes_at").get(slug="practice") == first
    assert first[1] == dt.datetime(2026, 1, 31, 12, 0, tzinfo=JST)


def _snapshot():
    return {
        "calls": list(Call.objects.order_by("slug").values()),
        "themes": list(Theme.objects.order_by("id").values()),
        "applications": list(Application.objects.order_by("id").values()),
        "organisations": list(Organisation.objects.order_by("id").values()),
        "users": list(User.objects.order_by("id").values("email", "role", "password", "is_superuser")),
    }


def test_running_seed_demo_twice_changes_nothing():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    before = _snapshot()
    out2 = StringIO()
    call_command("seed_demo", stdout=out2)
    assert _snapshot() == before
    assert "nothing changed" in out2.getvalue()


def test_demo_users_cover_every_role_and_mfa_roles_have_totp_and_a_recovery_code():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == {r.value for r in Role}
    for user in User.objects.all():
        assert user.emailaddress_set.get(primary=True).verified
        assert user.email in text
        if user.requires_mfa:
            from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

            from accounts.permissions import has_totp

            assert has_totp(user)
            codes = RecoveryCodes(user.authenticator_set.get(type="recovery_codes")).get_unused_codes()
            line = next(line for line in text.splitlines() if user.email in line and "recovery code" in line)
            printed = re.search(r"recovery code (\S+)", line).group(1)
            assert printed in codes
    admin = User.objects.get(role=Role.ADMINISTRATOR)
    assert admin.is_superuser and admin.is_staff
    assert not User.objects.filter(role=Role.STAFF, is_superuser=True).exists()


def test_the_printout_links_on_the_configured_base_url(settings):
    """nc-nav: `make run PORT=8765` → the login link printed is on that port (PORTAL_BASE_URL)."""
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8765"
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "Log in at http://127.0.0.1:8765/accounts/login/" in out.getvalue()
    assert ":8000" not in out.getvalue()


def test_the_public_page_texts_of_the_demo_calls_come_from_the_seed(seeded):
    """nc-record: 公募URL and its note, the contact sentence, 期待される効果 and the consortium note are
    the seed's own words; nothing else (telephone, e-mail, hours, a date) is given."""
    call = Call.objects.get(slug="r7-npo-model")
    for text in (call.official_url, call.official_url_note, call.contact_note, *call.expected_effect_items):
        assert squash(text) in SEED_SQUASHED, text
    for text in Call.objects.get(slug="r7-kofukin").expected_effect_items:
        assert squash(text) in SEED_SQUASHED, text
    hyogo = Application.objects.get(call__slug="r6-ninaite", organisation__name="公益財団法人 ひょうごコミュニティ財団")
    assert hyogo.note == "コンソーシアムの代表団体" and squash(f"※{hyogo.note}") in SEED_SQUASHED
    assert not Call.objects.exclude(contact_phone="", contact_email="", contact_hours="").exists()
