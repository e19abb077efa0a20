"""nc-record (issue 12, item 6 second part, item 10): the call's official page (公募URL), its
問い合わせ先, 期待される効果 and よくある質問 are fields of the call, edited in the admin and shown on
the public call page with headings; an empty block is left out. The demo fills them from the seed
only (no invented telephone, e-mail or hours)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from calls.models import Call, CallQuestion
from tests.factories import CallFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db


def page_of(client, call, language="ja") -> str:
    with translation.override(language):
        response = client.get(f"/calls/{call.slug}/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def full_call(db):
    call = CallFactory(
        official_url="https://example.jp/koubo/",
        official_url_note="株式会社テストのWebサイトです。",
        contact_office="内閣府孤独・孤立対策推進室 担当係",
        contact_phone="03-0000-0000",
        contact_email="contact@example.jp",
        contact_hours="平日10:00〜17:00",
        contact_note="公募要領もご覧ください。",
        expected_effects="一つ目の効果\n\n二つ目の効果",
    )
    CallQuestion.objects.create(call=call, order=2, question="二番目の質問", answer="二番目の回答")
    CallQuestion.objects.create(call=call, order=1, question="一番目の質問", answer="一番目の回答\n二行目")
    return call


@pytest.mark.parametrize(
    ("language", "headings"),
    [
        ("ja", ["公募URL", "期待される効果", "問い合わせ先", "よくある質問"]),
        ("en", ["Official page of the call", "Expected effects", "Contact", "Frequently asked questions"]),
    ],
)
def test_the_call_page_shows_each_block_under_its_heading(client, full_call, language, headings):
    page = page_of(client, full_call, language)
    for heading in headings:
        assert heading in page
    assert '<h2 id="effects-heading">' in page and '<h2 id="contact-heading">' in page
    assert '<h2 id="faq-heading">' in page
    assert 'href="https://example.jp/koubo/"' in page and "※株式会社テストのWebサイトです。" in page
    assert "<li>一つ目の効果</li><li>二つ目の効果</li>" in page
    assert 'href="tel:0300000000"' in page and 'href="mailto:contact@example.jp"' in page
    assert "平日10:00〜17:00" in page and "公募要領もご覧ください。" in page
    assert page.index("一番目の質問") < page.index("二番目の質問")  # in their order
    assert page.count('data-testid="faq-item"') == 2
    assert "一番目の回答<br>二行目" in page


def test_empty_blocks_are_left_out(client):
    call = CallFactory()
    page = page_of(client, call)
    for marker in ('data-testid="official-url"', "effects-heading", "contact-heading", "faq-heading"):
        assert marker not in page


def test_a_contact_of_only_a_note_has_no_empty_list(client):
    call = CallFactory(contact_note="公募要領に記載の問い合わせ先に直接ご連絡ください。")
    page = page_of(client, call)
    assert "contact-heading" in page and 'data-testid="contact"' not in page


def test_the_call_pages_queries_do_not_grow_with_the_questions(client):
    def queries(call):
        with CaptureQueriesContext(connection) as captured:
            page_of(client, call)
        return len(captured)

    few, many = CallFactory(), CallFactory()
    CallQuestion.objects.create(call=few, question="質問", answer="回答")
    for order in range(8):
        CallQuestion.objects.create(call=many, order=order, question=f"質問{order}", answer="回答")
    assert queries(few) == queries(many)


def test_the_admin_edits_the_public_page_fields_and_the_questions(client, full_call):
    admin = UserFactory(role="administrator", is_staff=True, is_superuser=True)
    enable_totp(admin)
    client.force_login(admin)
    page = client.get(f"/admin/calls/call/{full_call.pk}/change/").content.decode()
    for name in (
        "official_url",
        "official_url_note",
        "contact_office",
        "contact_phone",
        "contact_email",
        "contact_hours",
        "contact_note",
        "expected_effects",
    ):
        assert f'name="{name}"' in page, name
    assert 'name="questions-0-question"' in page and 'name="questions-0-answer"' in page
    assert "二番目の回答" in page


@pytest.fixture
def demo(db):
    from grants.demo.loader import seed_demo

    return seed_demo()


def test_the_demo_fills_the_npo_model_call_from_the_seed_only(client, demo):
    from grants.demo import data

    call = Call.objects.get(slug="r7-npo-model")
    assert call.official_url == "https://www.nttdata-strategy.com/newsrelease/news/kodoku_koritsu_koubo/"
    assert call.official_url_note == "株式会社NTTデータ経営研究所のWebサイトです。"
    assert call.contact_note == "お問い合わせは、公募要領に記載の問い合わせ先に直接ご連絡ください。"
    # The seed gives no telephone, e-mail, hours or office: none is invented.
    assert (call.contact_phone, call.contact_email, call.contact_hours, call.contact_office) == ("", "", "", "")
    assert call.expected_effects == data.PROGRAMMES["npo-model"]["expected_effects"]
    assert [q.question for q in call.questions.all()] == [q for q, _a in data.NPO_MODEL_QUESTIONS]
    page = page_of(client, call)
    assert "https://www.nttdata-strategy.com/newsrelease/news/kodoku_koritsu_koubo/" in page
    assert "公募要領に記載の問い合わせ先に直接ご連絡ください。" in page
    assert 'data-testid="contact"' not in page and "tel:" not in page and "mailto:" not in page
    kofukin = Call.objects.get(slug="r7-kofukin")
    assert kofukin.expected_effect_items == data.PROGRAMMES["kofukin"]["expected_effects"].split("\n")
    assert Call.objects.get(slug="practice").official_url == ""  # the practice call is not the real one


def test_the_demo_fills_the_new_fields_of_a_database_seeded_before_them(demo):
    from grants.demo.loader import seed_demo

    Call.objects.filter(slug="r7-npo-model").update(official_url="", expected_effects="")
    Call.objects.filter(slug="r7-kofukin").update(expected_effects="管理者が書いた効果")
    seed_demo()
    assert Call.objects.get(slug="r7-npo-model").official_url.startswith("https://www.nttdata-strategy.com/")
    assert Call.objects.get(slug="r7-npo-model").expected_effects
    assert Call.objects.get(slug="r7-kofukin").expected_effects == "管理者が書いた効果"  # kept
    assert CallQuestion.objects.filter(call__slug="r7-npo-model").count() == 6  # not doubled
