"""An amount limited to the call's subsidy rate (補助率) of an earlier amount (FormField.share_of),
and the practice 交付金 form that uses it: menu items chosen, a plan for each chosen one."""

import pytest

from calls.form_builder import section_form
from calls.form_schema import FieldSpec, Schema, SectionSpec, schema_of, validate
from calls.models import FieldKind
from calls.services import published_version
from grants.demo import data
from grants.demo.loader import seed_demo
from tests.factories import CallFactory
from tests.support.forms import build_version

SHARED = [
    (
        "cost",
        "経費",
        [
            {"key": "total", "kind": "yen", "label": "総事業費", "required": True},
            {"key": "requested", "kind": "yen", "label": "交付申請額", "required": True, "share_of": "total"},
        ],
    )
]


def spec(key, kind=FieldKind.YEN, section="s", share_of=""):
    return FieldSpec(key, kind, section, share_of=share_of)


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ((spec("total"), spec("requested", share_of="total")), None),
        ((spec("total"), spec("requested", share_of="nowhere")), "requested"),  # unknown field
        ((spec("requested", share_of="total"), spec("total")), "requested"),  # comes after it
        ((spec("total", section="t"), spec("requested", share_of="total")), "requested"),  # another section
        ((spec("total", FieldKind.WHOLE_NUMBER), spec("requested", share_of="total")), "requested"),  # not an amount
        ((spec("total"), spec("requested", FieldKind.SHORT_TEXT, share_of="total")), "requested"),  # not an amount
    ],
)
def test_the_validator_checks_the_amount_a_share_is_of(fields, wrong):
    problems = [p for p in validate(Schema((SectionSpec("s"), SectionSpec("t")), fields)) if p.code == "share_of"]
    assert [p.key for p in problems] == ([wrong] if wrong else [])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rate", "requested", "ok"), [(75, "750,001", False), (75, "750000", True), (100, "1000001", False)]
)
def test_an_amount_is_at_most_the_rate_of_its_cost(rate, requested, ok):
    call = CallFactory(subsidy_rate_percent=rate)
    version = build_version(call, SHARED)
    section = version.ordered_sections()[0]
    form = section_form(version, section, data={"schema-total": "１，０００，０００", "schema-requested": requested})
    assert form.is_valid() is ok
    if not ok:
        assert form.errors["requested"][0].startswith("交付申請額は総事業費の")


@pytest.mark.django_db
def test_the_rate_rounds_yen_fractions_down():
    call = CallFactory(subsidy_rate_percent=75)
    version = build_version(call, SHARED)
    section = version.ordered_sections()[0]
    # 75% of 333,335 is 250,001.25: 250,001 passes, 250,002 does not.
    assert section_form(version, section, data={"schema-total": "333335", "schema-requested": "250001"}).is_valid()
    assert not section_form(version, section, data={"schema-total": "333335", "schema-requested": "250002"}).is_valid()


@pytest.mark.django_db
def test_the_practice_kofukin_call_takes_applications_with_its_own_form():
    seed_demo()
    version = published_version(CallFactory._meta.model.objects.get(slug="practice-kofukin"))
    assert version is not None and version.call.is_open and version.call.is_practice
    assert [t.code for t in version.call.eligible_types.all()] == ["local-government"]
    assert validate(schema_of(version)) == []
    # The project questions first (as every call asks them), then the 交付金's menu and plans.
    assert [section.key for section in version.ordered_sections()] == ["project", "menu", "plan"]
    menu = version.fields.get(key="menu")
    assert [label for _value, label, _en in menu.choice_list()] == data.KOFUKIN_MENU
    # Each menu item's plan is asked only when the item is chosen, its amount within the rate.
    plan = next(section for section in version.ordered_sections() if section.key == "plan")
    form = section_form(
        version,
        plan,
        values={"menu": ["m1", "m3"]},
        data={"schema-m1_activity": "協議会の立上げ", "schema-m1_total": "1000000", "schema-m1_requested": "1000000"},
    )
    assert not form.is_valid()
    assert set(form.errors) == {"m3_activity", "m3_total", "m3_requested"}
    assert {"m2_activity", "m2_total"} <= form.hidden_keys
    seed_demo()  # a second run adds no second version
    assert version.call.form_versions.count() == 1
