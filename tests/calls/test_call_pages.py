"""The public call pages show each call's state, window, cap, eligibility and themes."""

import datetime as dt

import pytest
from django.utils import timezone

from grants.demo.loader import seed_demo
from kodoku_portal.jp import JST
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    seed_demo()


def text_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_call_list_shows_each_state(client, seeded):
    now = timezone.now()
    CallFactory(title="未来の公募", opens_at=now + dt.timedelta(days=3), closes_at=now + dt.timedelta(days=10))
    page = text_of(client.get("/calls/"))
    assert "受付中" in page  # practice
    assert "締切済" in page  # r7-npo-model, r6-ninaite
    assert "受付前" in page  # the future call, r7-kofukin
    assert "【練習用】" in page
    assert "締切まであと" in page


def test_npo_model_page_shows_window_cap_types_and_themes(client, seeded):
    page = text_of(client.get("/calls/r7-npo-model/"))
    assert "2025年4月21日（月）00:00" in page
    assert "2025年5月30日（金）12:00 締切" in page
    assert "2,000,000円" in page
    assert "2.4億円" in page
    assert "社会福祉法人" in page
    assert "① 誰もが気軽に参加できる地域のゆるやかなつながりの場づくり" in page
    assert "図書館や美術館、公園などの機能を活かした居場所" in page
    assert "この公募は締め切りました。" in page
    assert "締切まであと" not in page


def test_npo_model_page_in_english(client, seeded):
    page = text_of(client.get("/calls/r7-npo-model/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Model survey of NPO initiatives" in page
    assert "Fri 30 May 2025 12:00 JST" in page
    assert "¥2,000,000" in page
    assert "Social welfare corporation" in page


def test_kofukin_page_shows_the_menu_and_budget(client, seeded):
    page = text_of(client.get("/calls/r7-kofukin/"))
    assert "地方版官民連携プラットフォームの構築" in page
    assert "1.4億円" in page
    assert "地方公共団体" in page
    assert "未定です。" in page


def test_open_call_shows_time_left_and_how_to_apply(client, seeded):
    page = text_of(client.get("/calls/practice/"))
    assert "これは練習用の公募です。" in page
    assert "締切まであと" in page
    assert "アカウントを作成して申請する" in page


def test_home_lists_open_calls_only(client, seeded):
    page = text_of(client.get("/"))
    assert "/calls/practice/" in page
    assert "/calls/r7-npo-model/" not in page


def test_footer_shows_server_time_in_jst(client, seeded):
    page = text_of(client.get("/"))
    now = timezone.now().astimezone(JST)
    assert f"{now.year}年{now.month}月{now.day}日" in page
    assert "JST" in page


def test_unknown_call_is_404(client, seeded):
    assert client.get("/calls/no-such-call/").status_code == 404


def test_call_list_query_count_does_not_grow_with_calls(client, django_assert_max_num_queries):
    for _ in range(3):
        CallFactory()
    with django_assert_max_num_queries(6) as few:
        client.get("/calls/")
    for _ in range(30):
        CallFactory()
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/calls/")
