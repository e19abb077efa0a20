"""The demo's practice awards: a closed practice call whose adopted projects stand at several
steps after 採択, all made through the services (the same path as a person in the browser), so a
newcomer sees the award pages, the board and the timeline filled in.

- the demo organisation (applicant@example.jp): adopted, its 交付申請 to file;
- the practice organisations (colleague@example.jp is a member of each): one with its grant
  decided and an advance paid, one whose final report waits for review, one confirmed with its
  settlement scheduled, one ordered to return an overpaid advance, one closed, one on the
  reserve list.
"""

import datetime as dt

from django.utils import timezone

from accounts.models import User
from applications import services as application_services
from applications.models import Application, ApplicationStatus, BudgetCategory, MemberRole, Membership, Organisation
from calls.models import ApplicantType, Call, FormVersion
from calls.services import form_version_publish
from calls.standard_form import add_project_section
from kodoku_portal.jp import JST

from .. import grant_steps, money_steps, report_steps, services
from ..models import Award, CostVerdict, Notice, ReportKind
from . import data

SLUG = "practice-awards"
WINDOW = (dt.datetime(2025, 4, 21, 0, 0, tzinfo=JST), dt.datetime(2025, 5, 30, 12, 0, tzinfo=JST))
SUBMITTED_AT = dt.datetime(2025, 5, 20, 10, 0, tzinfo=JST)
# (the step it is brought to, the award amount)
STEPS = [
    ("granted", 1_600_000),
    ("reported", 1_200_000),
    ("confirmed", 1_800_000),
    ("refund", 1_000_000),
    ("closed", 1_400_000),
    ("reserve", 2_000_000),
]


def _call(npo_defaults: dict, eligible: list[ApplicantType]) -> Call:
    call = Call.objects.create(
        **{
            **npo_defaults,
            "slug": SLUG,
            "title": "【練習用】" + data.PROGRAMMES["npo-model"]["name"] + "（採択後の手続）",
            "title_en": "[Practice] " + data.PROGRAMMES["npo-model"]["name_en"] + " (after adoption)",
            "fiscal_year": "練習用",
            "is_practice": True,
            "opens_at": WINDOW[0],
            "closes_at": WINDOW[1],
            "budget_total": 10_000_000,
            "budget_label": "練習用の予算額",
            "receipt_prefix": "PRACTICE-AW",
            "summary": "採択後の手続（交付申請、交付決定、変更、実績報告、額の確定、支払、返還）を"
            "試すための練習用の公募です。実際の補助金ではありません。",
        }
    )
    call.eligible_types.set(eligible)
    version = FormVersion.objects.create(call=call, number=1, note="デモデータ")
    add_project_section(version)
    form_version_publish(version, by=None)
    return call


def _apply(
    call: Call, organisation: Organisation, user: User, title: str, amount: int, period: tuple[dt.date, dt.date]
) -> Application:
    application = application_services.application_start(
        call=call, organisation=organisation, user=user, now=SUBMITTED_AT
    )
    honoraria = amount * 3 // 10 // 10_000 * 10_000
    rental = amount * 3 // 10 // 10_000 * 10_000
    application_services.application_save_draft(
        application_id=application.pk,
        user=user,
        base_version=application.version,
        raw={},
        now=SUBMITTED_AT,
        fields={
            "theme": call.themes.order_by("number").first(),
            "title": title,
            "summary": "地域の居場所づくりを通じて、孤独・孤立の予防に取り組みます（デモ用の架空の事業）。",
            "area_prefectures": [organisation.prefecture],
            "period_start": period[0],
            "period_end": period[1],
        },
        budget_lines=[
            application_services.BudgetLineInput(BudgetCategory.HONORARIA, "講師謝金", 10, honoraria // 10),
            application_services.BudgetLineInput(BudgetCategory.RENTAL, "会場借料", 1, rental),
            application_services.BudgetLineInput(BudgetCategory.SUPPLIES, "消耗品", 1, amount - honoraria - rental),
        ],
    )
    application_services.project_answers_save(
        application,
        {**data.PROJECT_ANSWERS, "purpose": "ゆるやかなつながりの場をつくる", "activities": "月2回の交流会と相談会"},
        by=user,
        now=SUBMITTED_AT,
    )
    application_services.application_submit(application_id=application.pk, user=user, now=SUBMITTED_AT)
    return Application.objects.get(pk=application.pk)


def _file_grant_application(award: Award, user: User) -> None:
    lines = [
        grant_steps.LineInput(line.category, line.description, line.amount)
        for line in award.application.budget_lines.order_by("position")
    ]
    grant_steps.grant_application_file(
        award=award,
        filing=grant_steps.FilingInput(
            project_start=award.application.period_start,
            project_end=award.application.period_end,
            lines=lines,
            responsible_title="事務局長",
            responsible_name="担当 花子",
            bank_name="デモ銀行",
            bank_code="0001",
            branch_name="本店",
            branch_code="001",
            account_type="ordinary",
            account_number="1234567",
            account_holder_kana="トクテイヒエイリカツドウホウジン デモ",
        ),
        by=user,
    )


def _grant(award: Award, member: User, staff: User) -> Award:
    _file_grant_application(award, member)
    filing = award.grant_applications.order_by("-number").first()
    grant_steps.grant_application_accept(filing=filing, by=staff)
    return grant_steps.grant_decide(
        award=Award.objects.get(pk=award.pk),
        amount=filing.amount,
        conditions=award.application.call.grant_conditions,
        progress_report_due=None,
        by=staff,
    )


def _final_report(award: Award, member: User, staff: User, *, spent: int, accept: bool) -> None:
    version = award.budget_in_force()
    lines = list(version.lines.all())
    share = [spent * line.amount // version.total for line in lines]
    share[-1] += spent - sum(share)
    report = report_steps.report_file(
        award=award,
        kind=ReportKind.FINAL,
        activities="交流会を16回、相談会を8回開催しました。",
        participants=640,
        results="参加者の約7割が「話せる人ができた」と回答しました。",
        issues="冬季の参加者が少なかったため、送迎を検討します。",
        costs=[
            report_steps.CostInput(line.category, line.description, amount)
            for line, amount in zip(lines, share, strict=True)
        ],
        by=member,
    )
    if accept:
        for cost in report.costs.all():
            report_steps.report_line_review(cost=cost, verdict=CostVerdict.ACCEPTED, by=staff)
        report_steps.report_accept(report=report, by=staff)


def _advance(award: Award, member: User, staff: User, amount: int, today: dt.date) -> None:
    payment = money_steps.advance_request(award=award, amount=amount, reason="事業開始時の経費に充てるため", by=member)
    payment = money_steps.advance_approve(payment=payment, scheduled_on=today, by=staff)
    money_steps.payment_record_paid(payment=payment, paid_on=today, by=staff)


def seed_practice_awards(users: dict[str, User], npo_defaults: dict, eligible: list[ApplicantType], report) -> None:
    if Call.objects.filter(slug=SLUG).exists():
        return
    staff = users["staff@example.jp"]
    colleague = users["colleague@example.jp"]
    applicant = users["applicant@example.jp"]
    call = _call(npo_defaults, eligible)
    for number, title, *_rest in data.NPO_MODEL_THEMES[:1]:
        call.themes.create(number=number, title=title)
    today = timezone.now().astimezone(JST).date()
    # The projects run from a month ago to five months ahead, so the due dates lie ahead of a newcomer.
    period = (today - dt.timedelta(days=30), today + dt.timedelta(days=150))

    demo = Organisation.objects.get(name=data.DEMO_ORGANISATION["name"])
    adopted = [(_apply(call, demo, applicant, "つながりの場づくり（練習用）", 1_500_000, period), applicant, "adopted")]
    for (step, amount), (name, *_rest) in zip(STEPS, data.PRACTICE_APPLICANTS, strict=True):
        organisation = Organisation.objects.get(name=name)
        Membership.objects.get_or_create(organisation=organisation, user=colleague, defaults={"role": MemberRole.OWNER})
        application = _apply(
            call, organisation, colleague, f"{organisation.name}の居場所づくり（練習用）", amount, period
        )
        adopted.append((application, colleague, step))

    call.closed_manually = True
    call.save(update_fields=["closed_manually"])
    for application, _member, step in adopted:
        outcome = ApplicationStatus.RESERVE if step == "reserve" else ApplicationStatus.ADOPTED
        services.decision_record(
            application=application,
            outcome=outcome,
            award_amount=application.requested_amount if outcome == ApplicationStatus.ADOPTED else None,
            decided_by=staff,
        )
    services.notices_prepare(call=call, created_by=staff)
    for notice in Notice.objects.filter(application__call=call):
        services.notice_mail_sent(notice_id=notice.pk, at=timezone.now())  # as the outbox does once sent

    for application, member, step in adopted:
        if step in ("adopted", "reserve"):
            continue
        award = _grant(Award.objects.get(application=application), member, staff)
        if step == "granted":
            _advance(award, member, staff, 800_000, today)
            continue
        if step == "refund":
            _advance(award, member, staff, award.granted_amount, today)
        _final_report(award, member, staff, spent=award.granted_amount * 8 // 10, accept=step != "reported")
        if step == "reported":
            continue
        award = money_steps.amount_confirm(
            award=Award.objects.get(pk=award.pk), amount=None, scheduled_on=None, by=staff
        )
        if step == "refund":
            money_steps.refund_order(award=award, due_on=None, by=staff)
        elif step == "closed":
            settlement = award.payments.get(kind="settlement")
            money_steps.payment_record_paid(payment=settlement, paid_on=today, by=staff)
    report.created.append(f"{SLUG}: practice awards at several steps after adoption")
