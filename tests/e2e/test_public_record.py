"""nc-record (issue 12, items 6 and 10) in Chromium: the public record of the seed.

/calls/r6-ninaite/ lists the nine adopted organisations (事業名, 概要, 事業区域, the consortium note)
and /calls/r7-npo-model/ shows its 公募URL, 問い合わせ先, 期待される効果 and よくある質問 — in
Japanese and English, at 1280 and 390 px (nothing scrolls sideways), with axe at 0 serious or
critical violations.
"""

import pytest
from playwright.sync_api import Page, expect

from grants.demo import data
from grants.demo.loader import seed_demo
from tests.e2e.axe import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = [1280, 390]


def switch_to_english(page: Page, base: str) -> None:
    page.goto(base + "/calls/")
    page.get_by_label("言語").select_option("en")
    page.get_by_role("button", name="切替").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_public_record_of_the_seed(page: Page, live_server, language):
    seed_demo()
    base = live_server.url
    if language == "en":
        switch_to_english(page, base)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})

        page.goto(base + "/calls/r6-ninaite/")
        section = page.get_by_role("region", name="採択事業一覧" if language == "ja" else "Adopted projects")
        projects = section.get_by_test_id("adopted-project")
        expect(projects).to_have_count(9)
        for project, row in zip(projects.all(), data.NINAITE_ADOPTED, strict=True):
            expect(project.get_by_role("heading", level=3)).to_contain_text(row["organisation"])
            expect(project).to_contain_text(row["title"])
            expect(project).to_contain_text(row["summary"].split("\n")[0])
        hyogo = projects.filter(has_text="公益財団法人 ひょうごコミュニティ財団")
        expect(hyogo.get_by_test_id("adopted-note")).to_have_text("※コンソーシアムの代表団体")
        no_sideways_scroll(page)
        assert_accessible(page)

        page.goto(base + "/calls/r7-npo-model/")
        main = page.get_by_role("main")
        headings = (
            ["期待される効果", "問い合わせ先", "よくある質問"]
            if language == "ja"
            else ["Expected effects", "Contact", "Frequently asked questions"]
        )
        for heading in headings:
            expect(main.get_by_role("heading", level=2, name=heading)).to_be_visible()
        expect(page.get_by_test_id("official-url").get_by_role("link")).to_have_attribute(
            "href", data.NPO_MODEL_OFFICIAL_URL
        )
        expect(main).to_contain_text(data.NPO_MODEL_CONTACT_NOTE)
        expect(page.get_by_test_id("faq-item")).to_have_count(len(data.NPO_MODEL_QUESTIONS))
        no_sideways_scroll(page)
        assert_accessible(page)


def test_staff_see_the_outside_record_and_the_decision_window_in_both_widths(page: Page, live_server):
    """The notices page of r6-ninaite tells who recorded its notices as sent outside the portal;
    the decisions page of the open practice call says decisions wait and offers the override."""
    from tests.e2e.test_award_flow import STAFF, log_in

    seed_demo()
    base = live_server.url
    log_in(page, base, STAFF, "/staff/calls/r6-ninaite/notices/")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(base + "/staff/calls/r6-ninaite/notices/")
        record = page.get_by_test_id("outside-record")
        expect(record).to_have_count(1)
        expect(record).to_contain_text(STAFF)
        expect(record).to_contain_text("9件の申請の通知をポータル外で送付したことを記録しました。")
        assert_accessible(page)

        page.goto(base + "/staff/calls/practice/decisions/")
        window = page.get_by_test_id("decision-window")
        expect(window.get_by_role("heading", level=2)).to_have_text("採否の決定は締切後に行います")
        window.locator("summary").click()
        expect(window.get_by_role("button", name="締切前の採否の決定を許可する")).to_be_visible()
        assert_accessible(page)
