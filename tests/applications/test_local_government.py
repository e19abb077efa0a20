"""Local governments (地方公共団体) as applicants: the 6-digit 団体コード with its check digit, the
prefecture and the 法人番号 that follow from it, and a profile of department and contact person."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from stdnum.jp import cn as stdnum_cn

from accounts.models import Role
from applications import services
from applications.models import Organisation
from calls.models import ApplicantType
from kodoku_portal.normalise import (
    local_government_check_digit,
    local_government_corporate_number,
    normalise_local_government_code,
)
from kodoku_portal.prefectures import PREFECTURES
from tests.factories import UserFactory

# Codes published by the Ministry of Internal Affairs and Communications (総務省); a local
# government's 法人番号 is its check digit, "000020" and the code (National Tax Agency's rule).
KNOWN = [
    ("010006", "北海道", "7000020010006"),
    ("011002", "札幌市", "9000020011002"),
    ("130001", "東京都", "8000020130001"),
    ("131016", "千代田区", "8000020131016"),
    ("271004", "大阪市", "6000020271004"),
    ("472018", "那覇市", "3000020472018"),
]


@pytest.mark.parametrize(("code", "name", "corporate_number"), KNOWN)
def test_published_codes_pass_and_give_their_corporate_number(code, name, corporate_number):
    assert local_government_check_digit(code[:5]) == code[5], name
    assert normalise_local_government_code(code) == code
    assert local_government_corporate_number(code) == corporate_number
    assert stdnum_cn.is_valid(corporate_number)


@given(
    prefecture=st.sampled_from([code for code, _ja, _en in PREFECTURES]),
    rest=st.text(alphabet="0123456789", min_size=3, max_size=3),
    wrong=st.integers(min_value=1, max_value=9),
)
def test_only_the_right_check_digit_passes(prefecture, rest, wrong):
    first_five = prefecture + rest
    right = local_government_check_digit(first_five)
    assert normalise_local_government_code(first_five + right) == first_five + right
    mistyped = str((int(right) + wrong) % 10)
    with pytest.raises(ValidationError) as caught:
        normalise_local_government_code(first_five + mistyped)
    assert caught.value.code == "invalid_checksum"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("１３０００１", "130001"), ("13-0001", "130001"), ("１３ー０００１", "130001"), (" 011002 ", "011002")],
)
def test_full_width_digits_and_hyphens_are_accepted(typed, stored):
    assert normalise_local_government_code(typed) == stored


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("13000", "invalid_length"),
        ("1300011", "invalid_length"),
        ("13OOO1", "invalid"),
        ("480001", "invalid_prefecture"),
    ],
)
def test_a_wrong_code_says_what_is_wrong(typed, code):
    with pytest.raises(ValidationError) as caught:
        normalise_local_government_code(typed)
    assert caught.value.code == code


@pytest.fixture
def types(db):
    npo = ApplicantType.objects.get_or_create(code="npo", defaults={"name": "特定非営利活動法人（NPO法人）"})[0]
    local = ApplicantType.objects.get_or_create(
        code="local-government", defaults={"name": "地方公共団体", "is_local_government": True}
    )[0]
    return {"npo": npo, "local": local}


def local_profile(types, **overrides):
    data = {
        "name": "札幌市",
        "name_kana": "さっぽろし",
        "applicant_type": types["local"].pk,
        "local_government_code": "０１１００２",
        "department": "保健福祉局総務部",
        "postal_code": "060-8611",
        "prefecture": "",
        "address": "北海道札幌市中央区北1条西2丁目",
        "contact_name": "担当 一郎",
        "phone": "011-211-2111",
        "email": "fukushi@example.lg.jp",
    }
    data.update(overrides)
    return data


def test_a_local_government_registers_with_its_code(client, types):
    client.force_login(UserFactory(role=Role.APPLICANT))
    response = client.post("/organisations/new/", local_profile(types))
    assert response.status_code == 302, response.context["form"].errors
    organisation = Organisation.objects.get()
    assert organisation.local_government_code == "011002"
    assert organisation.prefecture == "01"  # from the code, not typed
    assert organisation.corporate_number == "9000020011002"
    assert organisation.department == "保健福祉局総務部"
    assert organisation.representative_name == ""


def test_the_code_decides_the_prefecture_whatever_was_chosen(client, types):
    client.force_login(UserFactory(role=Role.APPLICANT))
    response = client.post("/organisations/new/", local_profile(types, prefecture="13"))
    assert response.status_code == 302
    assert Organisation.objects.get().prefecture == "01"


def test_a_local_government_must_give_its_code_and_department(client, types):
    client.force_login(UserFactory(role=Role.APPLICANT))
    response = client.post(
        "/organisations/new/", local_profile(types, local_government_code="", department=""), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "6-digit local government code" in errors["local_government_code"][0]
    assert "department" in errors["department"][0]
    assert not Organisation.objects.exists()


def test_a_mistyped_code_is_refused_in_japanese(client, types):
    client.force_login(UserFactory(role=Role.APPLICANT))
    response = client.post("/organisations/new/", local_profile(types, local_government_code="011003"))
    assert response.status_code == 200
    assert "検査数字" in response.context["form"].errors["local_government_code"][0]
    assert not Organisation.objects.exists()


def test_a_code_is_registered_once(client, types):
    client.force_login(UserFactory(role=Role.APPLICANT))
    assert client.post("/organisations/new/", local_profile(types)).status_code == 302
    response = client.post("/organisations/new/", local_profile(types), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "already registered" in str(response.context["form"].errors)
    assert Organisation.objects.count() == 1


def test_other_bodies_give_no_code_but_a_representative(client, types):
    client.force_login(UserFactory(role=Role.APPLICANT))
    data = {
        "name": "特定非営利活動法人 テスト",
        "name_kana": "てすと",
        "applicant_type": types["npo"].pk,
        "corporate_number": "4011001098993",
        "local_government_code": "130001",
        "postal_code": "100-0001",
        "prefecture": "",
        "address": "東京都千代田区",
        "contact_name": "担当",
        "phone": "03-1234-5678",
        "email": "npo@example.jp",
    }
    response = client.post("/organisations/new/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"prefecture", "representative_title", "representative_name"}
    # The code field is hidden for any other body: whatever it still holds is emptied, not refused.
    data.update(prefecture="13", representative_title="理事長", representative_name="代表 太郎")
    assert client.post("/organisations/new/", data).status_code == 302
    assert Organisation.objects.get().local_government_code == ""


def test_a_local_government_changed_to_another_type_keeps_no_code(client, types):
    user = UserFactory(role=Role.APPLICANT)
    client.force_login(user)
    assert client.post("/organisations/new/", local_profile(types)).status_code == 302
    organisation = Organisation.objects.get()
    profile = local_profile(
        types,
        applicant_type=types["npo"].pk,
        corporate_number="4011001098993",
        prefecture="13",
        representative_title="理事長",
        representative_name="代表 太郎",
    )
    response = client.post(f"/organisations/{organisation.pk}/", profile)
    assert response.status_code == 302, response.context["form"].errors
    organisation.refresh_from_db()
    assert (organisation.local_government_code, organisation.department) == ("", "")
    assert organisation.corporate_number == "4011001098993"


def test_a_local_government_without_its_code_cannot_submit(types):
    from applications.checks import required_organisation_fields

    organisation = Organisation.objects.create(name="旧登録の市", applicant_type=types["local"], prefecture="01")
    assert "local_government_code" in dict(required_organisation_fields(organisation))


def test_the_service_derives_and_refuses_like_the_form(types):
    organisation = services.organisation_create(
        name="東京都", applicant_type=types["local"], local_government_code="130001", prefecture="", email="a@b.jp"
    )
    assert (organisation.prefecture, organisation.corporate_number) == ("13", "8000020130001")
    services.organisation_update(organisation=organisation, local_government_code="011002")
    organisation.refresh_from_db()
    assert (organisation.prefecture, organisation.corporate_number) == ("01", "9000020011002")
    with pytest.raises(ValidationError):
        services.organisation_create(name="x", applicant_type=types["local"], prefecture="13")
    with pytest.raises(ValidationError):
        services.organisation_create(
            name="y", applicant_type=types["npo"], prefecture="13", local_government_code="130001"
        )


def test_the_migration_marks_the_seed_type(db):
    ApplicantType.objects.update_or_create(code="local-government", defaults={"name": "地方公共団体"})
    ApplicantType.objects.filter(code="local-government").update(is_local_government=False)
    migration = importlib.import_module("calls.migrations.0008_local_governments")
    migration.mark_local_governments(django_apps, None)
    assert ApplicantType.objects.get(code="local-government").is_local_government
    assert not ApplicantType.objects.filter(is_local_government=True).exclude(code="local-government").exists()
