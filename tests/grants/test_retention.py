"""Retention (公文書管理法): the period, the dry run, and an anonymisation that changes exactly the
fields it names, only in records past their period (every row of every model compared)."""

import datetime as dt
import io

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import retention
from grants.models import AwardStatus
from kodoku_portal.append_only import retention as retention_path
from kodoku_portal.models import AuditEntry, OutboxMessage
from kodoku_portal.workflow import record
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    OrganisationFactory,
    ProgrammeFactory,
    UserFactory,
    enable_totp,
)
from tests.grants.records import full_record

pytestmark = pytest.mark.django_db

TODAY = dt.date(2032, 4, 1)  # the closed project ended in FY2026: kept until 2032-03-31


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize(
    ("ended", "years", "until"),
    [
        (dt.date(2026, 2, 28), 5, dt.date(2031, 3, 31)),
        (dt.date(2025, 4, 1), 5, dt.date(2031, 3, 31)),
        (dt.date(2025, 3, 31), 5, dt.date(2030, 3, 31)),
        (dt.date(2025, 3, 31), 1, dt.date(2026, 3, 31)),
    ],
)
def test_kept_until_counts_from_the_end_of_the_fiscal_year(ended, years, until):
    assert retention.kept_until(ended, years) == until


def _snapshot() -> dict:
    data = {}
    for model in django_apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        pk = model._meta.pk.attname
        data[model._meta.label] = {row[pk]: row for row in model._base_manager.values()}
    return data


def _changes(before: dict, after: dict) -> tuple[set, set, set]:
    """(label, pk, field) changed; (label, pk) added; (label, pk) removed."""
    changed, added, removed = set(), set(), set()
    for label, rows in after.items():
        old_rows = before[label]
        added |= {(label, pk) for pk in rows.keys() - old_rows.keys()}
        removed |= {(label, pk) for pk in old_rows.keys() - rows.keys()}
        for pk in rows.keys() & old_rows.keys():
            changed |= {(label, pk, name) for name, value in rows[pk].items() if old_rows[pk][name] != value}
    return changed, added, removed


@pytest.fixture
def world():
    """A closed project (past on TODAY), a running one in the same call, an application of the
    running one's organisation that was withdrawn long ago (past, but its organisation is not),
    and a not-adopted application of 2019 in another call (past, with its organisation)."""
    past, past_rows = full_record(AwardStatus.CLOSED)
    live, live_rows = full_record(AwardStatus.GRANTED, call=past.call, staff=past.staff)
    for case in (past, live):  # the factory gives each user a confirmed address
        assert EmailAddress.objects.filter(user=case.member, verified=True).exists()
    withdrawn = ApplicationFactory(
        call=CallFactory(),
        organisation=live.application.organisation,
        status=ApplicationStatus.WITHDRAWN,
        receipt_number="W-0001",
        withdrawn_at=dt.datetime(2019, 5, 1, tzinfo=dt.UTC),
    )
    old_org = OrganisationFactory(representative_name="佐藤 次郎", email="old@example.jp", phone="0120-000-000")
    old_member = UserFactory(role=Role.APPLICANT, full_name="佐藤 次郎")
    Membership.objects.create(organisation=old_org, user=old_member, role=MemberRole.OWNER)
    not_adopted = ApplicationFactory(
        call=CallFactory(),
        organisation=old_org,
        status=ApplicationStatus.NOT_ADOPTED,
        receipt_number="N-0001",
        decision_disclosed_at=dt.datetime(2019, 6, 1, tzinfo=dt.UTC),
        submitted_by=old_member,
    )
    with transaction.atomic():
        record(not_adopted, by=old_member, action="note", after={"email": "old@example.jp", "memo": "佐藤 次郎 より"})
    AuditEntry.objects.create(
        action="viewed",
        object_type="applications.Application",
        object_id=str(past.application.pk),
        ip="192.0.2.1",
        call_id=past.call.pk,
    )
    AuditEntry.objects.create(
        action="viewed",
        object_type="applications.Application",
        object_id=str(live.application.pk),
        ip="192.0.2.2",
        call_id=live.call.pk,
    )
    OutboxMessage.objects.create(
        kind="notice",
        subject_type="grants.Notice",
        subject_id=past.application.notice.pk,
        to_email=past.member.email,
        recipient=past.member,
        context={"name": "x"},
    )
    OutboxMessage.objects.create(
        kind="notice",
        subject_type="grants.Notice",
        subject_id=live.application.notice.pk,
        to_email=live.member.email,
        recipient=live.member,
    )
    return {
        "past": past,
        "past_rows": past_rows,
        "live": live,
        "live_rows": live_rows,
        "withdrawn": withdrawn,
        "old_org": old_org,
        "old_member": old_member,
        "not_adopted": not_adopted,
    }


def test_dry_run_lists_what_is_past_and_changes_nothing(world):
    before = _snapshot()
    out = io.StringIO()
    call_command("retention", "--dry-run", "--today", TODAY.isoformat(), stdout=out)
    assert _snapshot() == before
    text = out.getvalue()
    assert world["past"].application.receipt_number in text
    assert "W-0001" in text and "N-0001" in text
    assert world["live"].application.receipt_number not in text
    assert "kept until 2032-03-31" in text
    assert "Dry run: nothing changed." in text


def test_retention_anonymises_exactly_the_fields_it_names_in_past_records_only(world):
    past, live = world["past"], world["live"]
    before = _snapshot()
    call_command("retention", "--today", TODAY.isoformat(), stdout=io.StringIO())
    after = _snapshot()
    changed, added, removed = _changes(before, after)
    assert removed == set()
    # The only rows added: one audit entry per call whose records changed.
    assert {label for label, _pk in added} == {"kodoku_portal.AuditEntry"}
    new_entries = AuditEntry.objects.filter(pk__in=[pk for _label, pk in added])
    assert {entry.action for entry in new_entries} == {"retention_anonymised"}
    # (The withdrawn application's call has none: nothing personal in it but its organisation's,
    # which another application of that organisation still keeps.)
    assert {int(entry.object_id) for entry in new_entries} == {past.call.pk, world["not_adopted"].call_id}
    counted = AuditEntry.objects.get(action="retention_anonymised", object_id=str(past.call.pk)).after
    assert counted["rows"]["grants.GrantApplication"] == 1
    assert counted["rows_total"] == sum(counted["rows"].values())
    # Only the named fields changed...
    for label, _pk, name in changed:
        assert name in retention.ANONYMISED_FIELDS[label], (label, name)
    # ...only in the past records.
    expected_rows = {
        ("grants.GrantApplication", world["past_rows"]["filing"].pk),
        ("applications.Organisation", past.application.organisation_id),
        ("applications.Organisation", world["old_org"].pk),
        ("accounts.User", past.member.pk),
        ("accounts.User", world["old_member"].pk),
        ("account.EmailAddress", EmailAddress.objects.get(user=past.member).pk),
        ("account.EmailAddress", EmailAddress.objects.get(user=world["old_member"]).pk),
        ("applications.RefusedSave", past.application.refused_saves.get().pk),
        ("applications.Invitation", past.application.organisation.invitations.get().pk),
        ("kodoku_portal.OutboxMessage", OutboxMessage.objects.get(recipient=past.member).pk),
    }
    changed_rows = {(label, pk) for label, pk, _name in changed}
    assert {row for row in changed_rows if row[0] != "kodoku_portal.AuditEntry"} == expected_rows
    live_entries = set(
        AuditEntry.objects.filter(
            object_type="applications.Application", object_id=str(live.application.pk)
        ).values_list("pk", flat=True)
    ) | set(
        AuditEntry.objects.filter(object_type="grants.Award", object_id=str(live.award.pk)).values_list("pk", flat=True)
    )
    assert not {pk for label, pk in changed_rows if label == "kodoku_portal.AuditEntry"} & live_entries
    # What the records hold now.
    filing = world["past_rows"]["filing"]
    filing.refresh_from_db()
    assert (filing.responsible_name, filing.account_number, filing.bank_name) == ("", "", "みずほ銀行")
    organisation = past.application.organisation
    organisation.refresh_from_db()
    assert (organisation.representative_name, organisation.email) == ("", "")
    assert organisation.name.startswith("特定非営利活動法人")  # the public record stays
    member = past.member
    member.refresh_from_db()
    assert (member.is_active, member.full_name, member.has_usable_password()) == (False, "", False)
    assert member.email == f"user{member.pk}@anonymised.invalid"
    # The running project's organisation keeps its data although one of its applications is past.
    assert live.application.organisation.representative_name == "山田 花子"
    live.application.organisation.refresh_from_db()
    assert live.application.organisation.representative_name == "山田 花子"
    live_filing = world["live_rows"]["filing"]
    live_filing.refresh_from_db()
    assert live_filing.responsible_name == "鈴木 一郎"
    # Audit entries: same shape, personal columns replaced.
    viewed = AuditEntry.objects.get(action="viewed", object_id=str(past.application.pk))
    assert viewed.ip is None
    assert AuditEntry.objects.get(action="viewed", object_id=str(live.application.pk)).ip == "192.0.2.2"
    note = AuditEntry.objects.get(action="note", object_id=str(world["not_adopted"].pk))
    assert note.after == {"email": retention.REDACTED, "memo": f"{retention.REDACTED} より"}
    assert note.actor_id == world["old_member"].pk
    contact = AuditEntry.objects.get(action="note", object_type="grants.Award", object_id=str(past.award.pk))
    assert contact.after == {"contact": retention.REDACTED}


def test_retention_is_idempotent(world):
    call_command("retention", "--today", TODAY.isoformat(), stdout=io.StringIO())
    first = _snapshot()
    out = io.StringIO()
    call_command("retention", "--today", TODAY.isoformat(), stdout=out)
    assert _snapshot() == first
    assert "Nothing left to anonymise." in out.getvalue()


def test_nothing_is_past_the_day_before(world):
    before = _snapshot()
    call_command("retention", "--today", "2032-03-31", stdout=io.StringIO())
    changed, _added, _removed = _changes(before, _snapshot())
    changed_rows = {(label, pk) for label, pk, _name in changed}
    # The 2019 records are past; the project closed in FY2026 is not yet.
    assert ("applications.Organisation", world["past"].application.organisation_id) not in changed_rows
    assert ("applications.Organisation", world["old_org"].pk) in changed_rows


def test_the_programme_setting_sets_the_period(world):
    programme = world["past"].call.programme
    programme.retention_years = 10
    programme.save()
    assert world["past"].application.receipt_number not in _dry_run(TODAY)
    assert world["past"].application.receipt_number in _dry_run(dt.date(2037, 4, 1))


def _dry_run(day) -> str:
    out = io.StringIO()
    call_command("retention", "--dry-run", "--today", day.isoformat(), stdout=out)
    return out.getvalue()


# --- the audit's sanctioned path -------------------------------------------------------------------


@pytest.fixture
def entry(db):
    return AuditEntry.objects.create(action="x", object_type="a.B", object_id="1", ip="192.0.2.9", after={"a": 1})


def test_an_ordinary_update_of_the_audit_is_still_refused(entry):
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(ip=None)


def test_retention_may_change_the_personal_columns_only(entry):
    with transaction.atomic(), retention_path(connection):
        AuditEntry.objects.filter(pk=entry.pk).update(ip=None, after={"a": 2}, object_repr="r")
    entry.refresh_from_db()
    assert (entry.ip, entry.after, entry.object_repr) == (None, {"a": 2}, "r")
    for change in ({"action": "y"}, {"object_id": "2"}, {"actor": UserFactory()}, {"call_id": 5}):
        with pytest.raises(IntegrityError), transaction.atomic(), retention_path(connection):
            AuditEntry.objects.filter(pk=entry.pk).update(**change)
    with pytest.raises(IntegrityError), transaction.atomic(), retention_path(connection):
        AuditEntry.objects.filter(pk=entry.pk).delete()


def test_the_path_closes_with_its_block(entry):
    with transaction.atomic():
        with retention_path(connection):
            AuditEntry.objects.filter(pk=entry.pk).update(ip=None)
        with pytest.raises(IntegrityError), transaction.atomic():
            AuditEntry.objects.filter(pk=entry.pk).update(object_repr="later")


@pytest.mark.django_db(transaction=True)
def test_the_path_needs_a_transaction():
    with pytest.raises(RuntimeError), retention_path(connection):
        pass


def test_the_setting_is_edited_on_the_programme_admin_page(client):
    programme = ProgrammeFactory()
    assert programme.retention_years == 5
    admin = UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    enable_totp(admin)
    client.force_login(admin)
    page = client.get(f"/admin/calls/programme/{programme.pk}/change/")
    assert page.status_code == 200
    assert 'name="retention_years"' in page.content.decode()


def test_a_person_with_two_addresses_is_anonymised_too(world):
    """allauth keeps (user, address) unique: each of a person's addresses gets its own value, so
    a second address does not stop the whole run."""
    past = world["past"]
    EmailAddress.objects.create(user=past.member, email="second@example.jp", verified=True)
    call_command("retention", "--today", TODAY.isoformat(), stdout=io.StringIO())
    emails = set(EmailAddress.objects.filter(user=past.member).values_list("email", flat=True))
    assert "second@example.jp" not in emails and len(emails) == 2
    assert all(email.endswith("@anonymised.invalid") for email in emails)
