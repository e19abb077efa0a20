"""Organisation profiles (法人番号 checked, codes normalised) and invitations of colleagues."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Role
from applications import services
from applications.models import Invitation, MemberRole, Membership, Organisation
from calls.models import ApplicantType
from kodoku_portal import outbox
from kodoku_portal.models import AuditEntry, OutboxMessage, OutboxStatus
from kodoku_portal.workflow import Refused
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def types(db):
    npo = ApplicantType.objects.get_or_create(code="npo", defaults={"name": "特定非営利活動法人（NPO法人）"})[0]
    voluntary = ApplicantType.objects.get_or_create(
        code="voluntary", defaults={"name": "任意団体", "has_corporate_number": False}
    )[0]
    return {"npo": npo, "voluntary": voluntary}


def profile(types, **overrides):
    data = {
        "name": "特定非営利活動法人 ㈱ではない会",
        "name_kana": "とくていひえいりかつどうほうじん",
        "applicant_type": types["npo"].pk,
        "corporate_number": "４－０１１０－０１０９－８９９３",
        "postal_code": "〒１００ー０００１",
        "prefecture": "13",
        "address": "東京都千代田区千代田１－１",
        "representative_title": "理事長",
        "representative_name": "代表 太郎",
        "contact_name": "担当 花子",
        "phone": "０３（１２３４）５６７８",
        "email": "office@example.jp",
        "staff_count": "１２",
        "annual_budget": "８，５００，０００円",
    }
    data.update(overrides)
    return data


def test_registering_normalises_codes_but_not_names(client, types):
    user = UserFactory(role=Role.APPLICANT)
    client.force_login(user)
    response = client.post("/organisations/new/", profile(types))
    assert response.status_code == 302
    organisation = Organisation.objects.get()
    assert organisation.corporate_number == "4011001098993"
    assert organisation.postal_code == "100-0001"
    assert organisation.phone == "03-1234-5678"
    assert organisation.name_kana == "トクテイヒエイリカツドウホウジン"
    assert organisation.staff_count == 12
    assert organisation.annual_budget == 8_500_000
    assert organisation.name == "特定非営利活動法人 ㈱ではない会"  # names are never NFKC-normalised
    assert organisation.address == "東京都千代田区千代田１－１"
    assert Membership.objects.get(organisation=organisation).user == user
    assert Membership.objects.get(organisation=organisation).role == MemberRole.OWNER


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("4011001098994", "check digit"),
        ("401100109899", "12"),
        ("40110010989930", "14"),
        ("40110O1098993", "digits only"),
    ],
)
def test_a_wrong_corporate_number_is_refused_with_what_is_wrong(client, types, number, fragment):
    client.force_login(UserFactory(role=Role.APPLICANT))
    response = client.post("/organisations/new/", profile(types, corporate_number=number), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    errors = response.context["form"].errors["corporate_number"]
    assert any(fragment in error for error in errors), errors
    assert not Organisation.objects.exists()


def test_an_unincorporated_association_has_no_corporate_number(client, types):
    client.force_login(UserFactory(role=Role.APPLICANT))
    response = client.post(
        "/organisations/new/", profile(types, applicant_type=types["voluntary"].pk, corporate_number="")
    )
    assert response.status_code == 302
    assert Organisation.objects.get().corporate_number == ""


def test_an_incorporated_body_must_give_its_number(client, types):
    client.force_login(UserFactory(role=Role.APPLICANT))
    response = client.post("/organisations/new/", profile(types, corporate_number=""))
    assert response.status_code == 200
    assert "corporate_number" in response.context["form"].errors


def test_an_owner_invites_a_colleague_who_joins(client, types, django_capture_on_commit_callbacks):
    owner = UserFactory(role=Role.APPLICANT)
    client.force_login(owner)
    client.post("/organisations/new/", profile(types))
    organisation = Organisation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/organisations/{organisation.pk}/invite/", {"email": "Colleague@Example.jp", "role": "editor"})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["colleague@example.jp"]
    link = re.search(r"/invitations/[\w-]+/", mail.outbox[0].body).group(0)

    colleague = UserFactory(email="colleague@example.jp", role=Role.APPLICANT)
    client.force_login(colleague)
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    membership = Membership.objects.get(organisation=organisation, user=colleague)
    assert membership.role == MemberRole.EDITOR
    assert client.get(f"/organisations/{organisation.pk}/").status_code == 200


def test_an_invitation_is_only_for_its_address(client, types, django_capture_on_commit_callbacks):
    owner = UserFactory(role=Role.APPLICANT)
    client.force_login(owner)
    client.post("/organisations/new/", profile(types))
    organisation = Organisation.objects.get()
    client.post(f"/organisations/{organisation.pk}/invite/", {"email": "colleague@example.jp", "role": "editor"})
    invitation = Invitation.objects.get()
    stranger = UserFactory(email="stranger@example.jp", role=Role.APPLICANT)
    client.force_login(stranger)
    response = client.post(f"/invitations/{invitation.token}/")
    assert response.status_code == 400
    assert not Membership.objects.filter(user=stranger).exists()


def test_an_expired_invitation_is_refused(client, types):
    owner = UserFactory(role=Role.APPLICANT)
    client.force_login(owner)
    client.post("/organisations/new/", profile(types))
    organisation = Organisation.objects.get()
    client.post(f"/organisations/{organisation.pk}/invite/", {"email": "late@example.jp", "role": "editor"})
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    late = UserFactory(email="late@example.jp", role=Role.APPLICANT)
    client.force_login(late)
    assert client.post(f"/invitations/{Invitation.objects.get().token}/").status_code == 400
    assert not Membership.objects.filter(user=late).exists()


def test_only_owners_invite(client, organisation, member):
    editor = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=editor, role=MemberRole.EDITOR)
    client.force_login(editor)
    response = client.post(f"/organisations/{organisation.pk}/invite/", {"email": "x@example.jp", "role": "owner"})
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_no_open_redirect_after_registering(client, types):
    client.force_login(UserFactory(role=Role.APPLICANT))
    response = client.post("/organisations/new/?next=https://evil.example/phish", profile(types))
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")


def test_an_invitation_is_one_outbox_message_sent_once(organisation, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            organisation=organisation, email=" New@Example.jp ", role=MemberRole.EDITOR, invited_by=member
        )
    [message] = OutboxMessage.objects.filter(kind="invitation")
    assert (message.subject_type, message.subject_id) == ("applications.Invitation", invitation.pk)
    assert message.to_email == "new@example.jp"
    assert message.status == OutboxStatus.SENT
    assert outbox.deliver(message.pk) == OutboxStatus.SENT  # a duplicate delivery sends nothing more
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.jp"]
    assert invitation.token in mail.outbox[0].body


def test_an_invitation_accepted_before_its_mail_went_out_is_not_sent(
    organisation, member, django_capture_on_commit_callbacks
):
    invitation = services.invitation_create(
        organisation=organisation, email="quick@example.jp", role=MemberRole.EDITOR, invited_by=member
    )
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
    message = OutboxMessage.objects.get(kind="invitation")
    assert outbox.deliver(message.pk) == OutboxStatus.CANCELLED
    assert mail.outbox == []


def test_only_an_owner_may_invite_even_through_the_service(organisation, member):
    editor = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=editor, role=MemberRole.EDITOR)
    with pytest.raises(Refused) as refused:
        services.invitation_create(
            organisation=organisation, email="x@example.jp", role=MemberRole.OWNER, invited_by=editor
        )
    assert refused.value.code == "not_owner"
    assert not Invitation.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_joining_by_invitation_is_audited(organisation, member):
    invitation = services.invitation_create(
        organisation=organisation, email="joiner@example.jp", role=MemberRole.EDITOR, invited_by=member
    )
    joiner = UserFactory(email="joiner@example.jp", role=Role.APPLICANT)
    services.invitation_accept(token=invitation.token, user=joiner)
    services.invitation_accept(token=invitation.token, user=joiner)  # the link again: no second entry
    [entry] = AuditEntry.objects.filter(action="member_joined")
    assert entry.actor == joiner
    assert (entry.object_type, entry.object_id) == ("applications.Organisation", str(organisation.pk))
    assert entry.after == {"member": "joiner@example.jp", "member_role": MemberRole.EDITOR}
