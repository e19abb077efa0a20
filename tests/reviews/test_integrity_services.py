"""Integrity checks in the database: flags kept up to date, dismissal and override (audited), and
assignment that never places a flagged pair unless staff say why."""

import pytest
from django.db import transaction
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.jp import cn

from applications.models import ApplicationStatus, MemberRole, Membership
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from reviews import services
from reviews.models import Assignment, IntegrityFlag, IntegrityFlagKind, IntegrityFlagStatus, ReviewerAffiliation
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    OrganisationFactory,
    ProgrammeFactory,
    ReviewerAffiliationFactory,
)

from .conftest import make_reviewer, submitted

pytestmark = pytest.mark.django_db

THIS_YEAR = timezone.localdate().year


def number(base: str) -> str:
    return cn.calc_check_digit(base) + base


def apply(call, organisation, receipt, **kwargs):
    return ApplicationFactory(
        call=call, organisation=organisation, status=ApplicationStatus.SUBMITTED, receipt_number=receipt, **kwargs
    )


def flags(**filters):
    return list(IntegrityFlag.objects.filter(**filters).order_by("id"))


# --- duplicates ------------------------------------------------------------------------------------


def test_the_same_representative_in_two_calls_of_the_same_programme_year_is_flagged_once():
    programme = ProgrammeFactory()
    first = CallFactory(programme=programme, fiscal_year="令和7年度")
    second = CallFactory(programme=programme, fiscal_year="令和7年度")
    other_year = CallFactory(programme=programme, fiscal_year="令和6年度")
    other_programme = CallFactory(fiscal_year="令和7年度")
    person = {"representative_name": "山田 太郎", "phone": "03-1234-5678"}
    a = apply(first, OrganisationFactory(**person, address="港区1-1"), "A-1")
    b = apply(second, OrganisationFactory(representative_name="山田太郎", phone="０３（１２３４）５６７８"), "B-1")
    apply(other_year, OrganisationFactory(**person), "C-1")
    apply(other_programme, OrganisationFactory(**person), "D-1")
    ApplicationFactory(call=second, organisation=OrganisationFactory(**person))  # a draft is not checked
    services.integrity_refresh(call=first)
    [flag] = flags()
    assert (flag.kind, flag.application, flag.other_application) == (IntegrityFlagKind.DUPLICATE, a, b)
    assert [m["rule"] for m in flag.matched] == ["representative_phone"]
    # Idempotent, from either call's side.
    services.integrity_refresh(call=first)
    services.integrity_refresh(call=second)
    assert flags() == [flag]


def test_a_call_without_a_fiscal_year_is_checked_on_its_own():
    programme = ProgrammeFactory()
    call, other = CallFactory(programme=programme), CallFactory(programme=programme)
    organisation = OrganisationFactory(corporate_number=number("700110005901"))
    apply(call, organisation, "A-1")
    apply(other, organisation, "B-1")
    services.integrity_refresh(call=call)
    assert flags() == []


def test_a_flag_whose_reason_is_gone_disappears_while_open():
    call = CallFactory()
    apply(call, OrganisationFactory(representative_name="山田太郎", address="港区1-1"), "A-1")
    b_org = OrganisationFactory(representative_name="山田太郎", address="港区１－１")
    apply(call, b_org, "A-2")
    services.integrity_refresh(call=call)
    assert len(flags()) == 1
    b_org.address = "港区2-2"
    b_org.save()
    services.integrity_refresh(call=call)
    assert flags() == []


# --- dismissal -------------------------------------------------------------------------------------


@pytest.fixture
def duplicate(staff):
    call = CallFactory()
    apply(call, OrganisationFactory(representative_name="山田太郎", address="港区1-1"), "A-1")
    apply(call, OrganisationFactory(representative_name="山田太郎", address="港区1-1", phone="0312345678"), "A-2")
    services.integrity_refresh(call=call)
    return IntegrityFlag.objects.get()


def test_staff_dismiss_a_flag_with_a_reason_and_it_is_audited(duplicate, staff):
    services.integrity_flag_dismiss(flag=duplicate, reason="同姓同名の別人（電話で確認済み）", by=staff)
    duplicate.refresh_from_db()
    assert duplicate.status == IntegrityFlagStatus.DISMISSED
    assert (duplicate.dismissed_by, duplicate.reason) == (staff, "同姓同名の別人（電話で確認済み）")
    entry = AuditEntry.objects.get(action="integrity_flag_dismissed")
    assert entry.actor == staff and entry.after["reason"] == "同姓同名の別人（電話で確認済み）"
    assert entry.call_id == duplicate.application.call_id
    # Still dismissed after the checks run again for the same reasons.
    services.integrity_refresh(call=duplicate.application.call)
    duplicate.refresh_from_db()
    assert duplicate.status == IntegrityFlagStatus.DISMISSED


@pytest.mark.parametrize("reason", ["", "   "])
def test_dismissing_without_a_reason_is_refused(duplicate, staff, reason):
    with pytest.raises(Refused) as refused:
        services.integrity_flag_dismiss(flag=duplicate, reason=reason, by=staff)
    assert refused.value.code == "reason_required"
    duplicate.refresh_from_db()
    assert duplicate.status == IntegrityFlagStatus.OPEN


def test_only_staff_dismiss(duplicate):
    with pytest.raises(Refused):
        services.integrity_flag_dismiss(flag=duplicate, reason="違う", by=make_reviewer())


def test_a_dismissed_flag_opens_again_when_other_fields_match(duplicate, staff):
    services.integrity_flag_dismiss(flag=duplicate, reason="別人", by=staff)
    other = duplicate.other_application.organisation
    first = duplicate.application.organisation
    first.phone = "03-1234-5678"  # now the phone matches too: a new reason
    first.save()
    assert other.phone == "0312345678"
    services.integrity_refresh(call=duplicate.application.call)
    duplicate.refresh_from_db()
    assert duplicate.status == IntegrityFlagStatus.OPEN
    assert [m["rule"] for m in duplicate.matched] == ["representative_address", "representative_phone"]
    assert duplicate.reason == "" and duplicate.dismissed_by is None
    assert AuditEntry.objects.filter(action="integrity_flag_reopened", actor=None).count() == 1


# --- conflicts of interest from affiliations ---------------------------------------------------------


@pytest.fixture
def flagged(call, staff):
    """An application whose organisation a reviewer worked for until last year."""
    [application] = submitted(call, 1)
    application.organisation.name = "特定非営利活動法人みらいネット"
    application.organisation.save()
    reviewer = make_reviewer()
    services.affiliation_add(
        reviewer=reviewer,
        data=services.AffiliationInput("NPO法人 みらいネット", "", THIS_YEAR - 4, THIS_YEAR - 1),
    )
    return application, reviewer


def test_a_reviewer_affiliation_flags_the_pair_with_why(flagged):
    application, reviewer = flagged
    [flag] = flags(kind=IntegrityFlagKind.CONFLICT)
    assert (flag.application, flag.reviewer) == (application, reviewer)
    with translation.override("en"):
        view = services.integrity.explain_matched(flag.matched)
    assert "NPO法人 みらいネット" in view[0] and "特定非営利活動法人みらいネット" in view[0]
    assert AuditEntry.objects.filter(action="affiliation_added", actor=reviewer).exists()


def test_removing_the_affiliation_removes_the_open_flag_and_is_audited(flagged):
    _application, reviewer = flagged
    services.affiliation_remove(affiliation=reviewer.affiliations.get(), by=reviewer)
    assert flags() == []
    assert AuditEntry.objects.filter(action="affiliation_removed", actor=reviewer).exists()


def test_another_user_cannot_remove_a_reviewer_affiliation(flagged):
    _application, reviewer = flagged
    with pytest.raises(Refused):
        services.affiliation_remove(affiliation=reviewer.affiliations.get(), by=make_reviewer())
    assert ReviewerAffiliation.objects.count() == 1


def test_manual_assignment_of_a_flagged_pair_is_refused_with_the_reason(flagged, reviewing, staff):
    application, reviewer = flagged
    with translation.override("en"), pytest.raises(Refused) as refused:
        services.assignment_create(application=application, reviewer=reviewer, due_at=None, assigned_by=staff)
    assert refused.value.code == "flagged"
    assert "みらいネット" in refused.value.message and "Give a reason to assign anyway" in refused.value.message
    assert not Assignment.objects.exists()


def test_manual_assignment_of_a_flagged_pair_with_a_reason_is_made_and_audited(flagged, reviewing, staff):
    application, reviewer = flagged
    services.assignment_create(
        application=application,
        reviewer=reviewer,
        due_at=None,
        assigned_by=staff,
        override_reason="退職済みで利害なし（本人確認）",
    )
    assert Assignment.objects.filter(application=application, reviewer=reviewer).exists()
    flag = IntegrityFlag.objects.get()
    assert (flag.override_reason, flag.overridden_by) == ("退職済みで利害なし（本人確認）", staff)
    entry = AuditEntry.objects.get(action="integrity_flag_overridden")
    assert entry.actor == staff and entry.after == {
        "reviewer": reviewer.email,
        "reason": "退職済みで利害なし（本人確認）",
    }


def test_bulk_assignment_skips_a_flagged_pair_unless_given_a_reason(flagged, reviewing, staff, reviewers):
    application, reviewer = flagged
    result = services.assignments_bulk(
        applications=[application], reviewers=[reviewer, reviewers[0]], due_at=None, assigned_by=staff
    )
    assert result.created == 1 and len(result.skipped) == 1
    result = services.assignments_bulk(
        applications=[application], reviewers=[reviewer], due_at=None, assigned_by=staff, override_reason="確認済み"
    )
    assert result.created == 1
    assert AuditEntry.objects.filter(action="integrity_flag_overridden").count() == 1


def test_automatic_assignment_avoids_the_flagged_pair_until_the_flag_is_dismissed(flagged, reviewing, staff):
    application, reviewer = flagged
    assert services.assignments_auto(call=application.call, reviewers=[reviewer], due_at=None, assigned_by=staff) == 0
    services.integrity_flag_dismiss(flag=IntegrityFlag.objects.get(), reason="同名の別団体", by=staff)
    assert services.assignments_auto(call=application.call, reviewers=[reviewer], due_at=None, assigned_by=staff) == 1


def test_an_affiliation_older_than_three_years_flags_nothing(call):
    [application] = submitted(call, 1)
    ReviewerAffiliationFactory(
        reviewer=make_reviewer(), organisation_name=application.organisation.name, year_to=THIS_YEAR - 4
    )
    services.integrity_refresh(call=call)
    assert flags() == []


# --- a reviewer who is a member of the applying organisation -------------------------------------------


def test_a_reviewer_who_is_a_member_of_the_applicant_is_excluded(call, reviewing, staff, reviewers):
    [application] = submitted(call, 1)
    member = reviewers[0]
    Membership.objects.create(organisation=application.organisation, user=member, role=MemberRole.EDITOR)
    with translation.override("en"), pytest.raises(Refused) as refused:
        services.assignment_create(
            application=application, reviewer=member, due_at=None, assigned_by=staff, override_reason="どうしても"
        )
    assert refused.value.code == "conflict"  # an override reason does not lift it
    services.assignments_auto(call=call, reviewers=reviewers, due_at=None, assigned_by=staff)
    assigned = set(Assignment.objects.values_list("reviewer_id", flat=True))
    assert member.pk not in assigned and len(assigned) == 2


# --- property: the automatic assignment never places a flagged pair ----------------------------------


@pytest.fixture
def world(call, review_round, staff):
    applications = submitted(call, 5)
    return applications, [make_reviewer() for _ in range(4)], staff


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_automatic_assignment_never_places_a_flagged_pair(world, data):
    applications, reviewers, staff = world
    call = applications[0].call
    pairs = [(a, r) for a in applications for r in reviewers]
    chosen = data.draw(st.sets(st.sampled_from(range(len(pairs)))), label="flagged")
    k = data.draw(st.integers(min_value=1, max_value=3), label="k")
    savepoint = transaction.savepoint()
    try:
        services.round_configure(call=call, reviewers_per_application=k, use_calibration=False, default_due_at=None)
        for index in chosen:
            application, reviewer = pairs[index]
            ReviewerAffiliation.objects.create(
                reviewer=reviewer, organisation_name=application.organisation.name, year_from=THIS_YEAR
            )
        flagged = {(pairs[i][0].pk, pairs[i][1].pk) for i in chosen}
        services.assignments_auto(call=call, reviewers=reviewers, due_at=None, assigned_by=staff)
        placed = set(Assignment.objects.values_list("application_id", "reviewer_id"))
        assert placed.isdisjoint(flagged)
        assert services.flagged_pairs(call=call) == flagged
        for application in applications:
            eligible = sum((application.pk, r.pk) not in flagged for r in reviewers)
            assert sum(a == application.pk for a, _r in placed) == min(k, eligible)
    finally:
        transaction.savepoint_rollback(savepoint)


def test_a_flag_assigned_anyway_keeps_its_reason_when_its_finding_goes(flagged, reviewing, staff):
    """Staff assigned a flagged pair with a reason; the affiliation is later removed: the flag, and
    the reason on it, stay (as a dismissed flag's do), while an untouched open flag would go."""
    application, reviewer = flagged
    services.assignment_create(
        application=application, reviewer=reviewer, due_at=None, assigned_by=staff, override_reason="本人確認済み"
    )
    services.affiliation_remove(affiliation=reviewer.affiliations.get(), by=reviewer)
    flag = IntegrityFlag.objects.get()
    assert flag.override_reason == "本人確認済み"


def test_a_partner_named_in_the_answers_to_the_project_questions_flags_the_reviewer(call):
    """The partners (連携先) are an answer to the call's form, no longer a column: the checks read it there."""
    from tests.support.forms import answer_project, project_version

    application, other = submitted(call, 2)  # the other one gives no partners: nothing to match
    answer_project(application, project_version(call), partners="地域包括支援センター\n株式会社ひかり商事（物品提供）")
    reviewer = make_reviewer()
    services.affiliation_add(
        reviewer=reviewer, data=services.AffiliationInput("㈱ひかり商事", "", THIS_YEAR - 2, THIS_YEAR)
    )
    [flag] = flags(kind=IntegrityFlagKind.CONFLICT)
    assert (flag.application, flag.reviewer) == (application, reviewer)
    assert [m["rule"] for m in flag.matched] == ["partner_name"]
    assert not flags(kind=IntegrityFlagKind.CONFLICT, application=other)
