"""Load the seed's calls and demo accounts. Idempotent: what exists is left as it is."""

import datetime as dt
from dataclasses import dataclass, field

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.mfa.utils import decrypt
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from stdnum.jp import cn

from accounts.models import Role, User
from accounts.services import user_create
from applications.models import ApplicationStatus, Organisation
from applications.services import application_import_decided, organisation_create
from calls.models import (
    ApplicantType,
    AreaRule,
    Call,
    CallQuestion,
    FormField,
    FormSection,
    FormVersion,
    Programme,
    Theme,
)
from calls.services import form_version_publish
from calls.standard_form import add_project_section
from kodoku_portal.jp import JST

from . import data
from .awards import seed_practice_awards

PRACTICE_DAYS = 30


@dataclass
class DemoAccount:
    email: str
    role: str
    totp_secret: str = ""
    recovery_code: str = ""


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)


PRACTICE_REPRESENTATIVES = ("一郎", "二郎", "三郎", "四郎", "五郎", "六郎")


def _jst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


def _applicant_types(report: SeedReport) -> dict[str, ApplicantType]:
    types = {}
    for order, (code, name, name_en, has_number, non_profit) in enumerate(data.APPLICANT_TYPES, start=1):
        obj, created = ApplicantType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "has_corporate_number": has_number,
                "is_non_profit": non_profit,
                "is_local_government": code == "local-government",
                "order": order,
            },
        )
        if created:
            report.created.append(f"applicant type {code}")
        types[code] = obj
    return types


def _programme(key: str, report: SeedReport) -> Programme:
    values = data.PROGRAMMES[key]
    obj, created = Programme.objects.get_or_create(name=values["name"], defaults=values)
    if created:
        report.created.append(f"programme {values['name']}")
    return obj


def _call(slug: str, defaults: dict, eligible: list[ApplicantType], report: SeedReport) -> tuple[Call, bool]:
    call, created = Call.objects.get_or_create(slug=slug, defaults=defaults)
    if created:
        call.eligible_types.set(eligible)
        report.created.append(f"call {slug}")
    return call, created


def seed_forms(report: SeedReport) -> None:
    """Every call without a form asks the project questions (its form's version 1)."""
    for call in Call.objects.filter(form_versions__isnull=True).order_by("pk"):
        _application_form(call, report=report)


def _themes(call: Call, themes) -> None:
    for number, title, title_en, examples in themes:
        Theme.objects.get_or_create(
            call=call, number=number, defaults={"title": title, "title_en": title_en, "examples": "\n".join(examples)}
        )


def _application_form(call: Call, sections=(), fields=(), report: SeedReport | None = None) -> None:
    """The call's application form as its first published version: the project questions
    (calls/standard_form.py), then ``sections`` (once: a call that has a form keeps it)."""
    if call.form_versions.exists():
        return
    version = FormVersion.objects.create(call=call, number=1, note="デモデータ")
    by_key = {}
    for order, (key, title, title_en) in enumerate(sections, start=1):
        by_key[key] = FormSection.objects.create(version=version, key=key, title=title, title_en=title_en, order=order)
    for order, values in enumerate(fields, start=1):
        values = dict(values)
        FormField.objects.create(version=version, section=by_key[values.pop("section")], order=order, **values)
    add_project_section(version)  # every call asks the NPO model survey's project questions first
    form_version_publish(version, by=None)
    if report is not None:
        report.created.append(f"application form of {call.slug}")


def _npo_model_defaults(programme: Programme) -> dict:
    return {
        "programme": programme,
        "title": data.PROGRAMMES["npo-model"]["name"],
        "title_en": data.PROGRAMMES["npo-model"]["name_en"],
        "fiscal_year": "令和6年度補正",
        "summary": data.NPO_MODEL_SUMMARY,
        "summary_en": data.NPO_MODEL_SUMMARY_EN,
        "cap_amount": 2_000_000,
        "subsidy_rate_percent": 100,
        "eligibility_note": "NPO法人や社会福祉法人等の非営利団体",
        "area_rule": AreaRule.NONE,
        "expected_effects": data.PROGRAMMES["npo-model"]["expected_effects"],
    }


def _fill_empty(call: Call, values: dict, report: SeedReport) -> None:
    """Fields added after a database was first seeded (the public page's) are filled where still
    empty; what an administrator has written is left as it is."""
    changed = [name for name, value in values.items() if not getattr(call, name) and value]
    for name in changed:
        setattr(call, name, values[name])
    if changed:
        call.save(update_fields=changed)
        report.created.append(f"call {call.slug}: {', '.join(changed)}")


def _questions(call: Call, questions) -> None:
    if call.questions.exists():
        return
    CallQuestion.objects.bulk_create(
        CallQuestion(call=call, order=order, question=question, answer=answer)
        for order, (question, answer) in enumerate(questions, start=1)
    )


def seed_calls(report: SeedReport, *, now: dt.datetime) -> None:
    types = _applicant_types(report)
    non_profits = [types[code] for code in data.NON_PROFIT_CORPORATIONS]

    npo_model = _programme("npo-model", report)
    call, _ = _call(
        "r7-npo-model",
        {
            **_npo_model_defaults(npo_model),
            "opens_at": _jst(2025, 4, 21, 0, 0),
            "closes_at": _jst(2025, 5, 30, 12, 0),
            "budget_total": 240_000_000,
            "budget_label": "6年度補正予算額",
            "receipt_prefix": "R7NPO",
        },
        non_profits,
        report,
    )
    _themes(call, data.NPO_MODEL_THEMES)
    _fill_empty(
        call,
        {
            "official_url": data.NPO_MODEL_OFFICIAL_URL,
            "official_url_note": data.NPO_MODEL_OFFICIAL_URL_NOTE,
            "contact_note": data.NPO_MODEL_CONTACT_NOTE,
            "expected_effects": data.PROGRAMMES["npo-model"]["expected_effects"],
        },
        report,
    )
    _questions(call, data.NPO_MODEL_QUESTIONS)

    # The practice call: open for 30 days from its first creation, closing at noon JST like the
    # real one; a later run leaves its window as it is.
    closes_on = (now.astimezone(JST) + dt.timedelta(days=PRACTICE_DAYS)).date()
    practice, _ = _call(
        "practice",
        {
            **_npo_model_defaults(npo_model),
            "title": "【練習用】" + data.PROGRAMMES["npo-model"]["name"],
            "title_en": "[Practice] " + data.PROGRAMMES["npo-model"]["name_en"],
            "fiscal_year": "練習用",
            "is_practice": True,
            "opens_at": now,
            "closes_at": _jst(closes_on.year, closes_on.month, closes_on.day, 12, 0),
            "receipt_prefix": "PRACTICE",
        },
        non_profits,
        report,
    )
    _themes(practice, data.NPO_MODEL_THEMES)
    _fill_empty(practice, {"expected_effects": data.PROGRAMMES["npo-model"]["expected_effects"]}, report)

    kofukin = _programme("kofukin", report)
    kofukin_call, _ = _call(
        "r7-kofukin",
        {
            "programme": kofukin,
            "title": data.PROGRAMMES["kofukin"]["name"] + "（令和7年度）",
            "title_en": data.PROGRAMMES["kofukin"]["name_en"] + " (FY2025)",
            "fiscal_year": "令和7年度",
            "summary": data.KOFUKIN_SUMMARY,
            "menu": "\n".join(data.KOFUKIN_MENU),
            "budget_total": 140_000_000,
            "budget_label": "7年度概算決定額（6年度予算額 1.3億円）",
            "eligibility_note": "地方公共団体",
            "receipt_prefix": "R7KOFU",
            "expected_effects": data.PROGRAMMES["kofukin"]["expected_effects"],
        },
        [types["local-government"]],
        report,
    )
    _fill_empty(kofukin_call, {"expected_effects": data.PROGRAMMES["kofukin"]["expected_effects"]}, report)

    # The practice copy of the 交付金: open like the practice call, for local governments, with its
    # own application form (data.kofukin_form_fields). The real 交付金 call stays information only:
    # the seed gives it no window.
    practice_kofukin, _ = _call(
        "practice-kofukin",
        {
            "programme": kofukin,
            "title": "【練習用】" + data.PROGRAMMES["kofukin"]["name"],
            "title_en": "[Practice] " + data.PROGRAMMES["kofukin"]["name_en"],
            "fiscal_year": "練習用",
            "summary": data.KOFUKIN_SUMMARY,
            "menu": "\n".join(data.KOFUKIN_MENU),
            "eligibility_note": "地方公共団体",
            "is_practice": True,
            "opens_at": now,
            "closes_at": _jst(closes_on.year, closes_on.month, closes_on.day, 12, 0),
            "receipt_prefix": "PRACTICEKOFU",
        },
        [types["local-government"]],
        report,
    )
    _application_form(practice_kofukin, data.KOFUKIN_FORM_SECTIONS, data.kofukin_form_fields(), report)

    ninaite, created = _call(
        "r6-ninaite",
        {
            "programme": kofukin,
            "title": "孤独・孤立対策推進交付金（孤独・孤立対策担い手育成支援事業）令和6年度",
            "title_en": "Grant for countermeasures against loneliness and isolation: "
            "developing intermediary organisations (FY2024)",
            "fiscal_year": "令和6年度",
            "summary": data.NINAITE_SUMMARY,
            "closed_manually": True,
            "eligibility_note": "孤独・孤立対策に取り組むNPO等に対して運営能力の向上や活動基盤の整備を行う中間支援組織",
            "area_rule": AreaRule.WIDER_THAN_ONE_PREFECTURE,
            "receipt_prefix": "R6NINAITE",
        },
        non_profits,
        report,
    )
    if created or not ninaite.applications.exists():
        for row in data.NINAITE_ADOPTED:
            organisation = Organisation.objects.filter(name=row["organisation"]).first() or organisation_create(
                name=row["organisation"], applicant_type=types[row["type"]], prefecture=row["prefecture"]
            )
            application_import_decided(
                call=ninaite,
                organisation=organisation,
                title=row["title"],
                summary=row["summary"],
                area_prefectures=row["area"],
                area_nationwide=row["nationwide"],
                area_description=row["area_description"],
                note=row.get("note", ""),
                submitted_at=None,
                outcome=ApplicationStatus.ADOPTED,
            )
        report.created.append("r6-ninaite: nine adopted applications")


def seed_ninaite_public_record(users: dict[str, User], report: SeedReport) -> None:
    """r6-ninaite was decided before the portal and its organisations told outside it: the demo
    staff member records so (no date: the seed gives none) and publishes the adopted list, so
    /calls/r6-ninaite/ shows the nine organisations as the seed publishes them."""
    from grants import services as grant_services
    from grants.models import NoticesSentOutside

    call = Call.objects.get(slug="r6-ninaite")
    staff = users["staff@example.jp"]
    if NoticesSentOutside.objects.filter(call=call).exists():
        return  # recorded (and published, or withdrawn since by staff) on an earlier run
    if not grant_services.outside_notice_candidates(call).exists():
        return  # the notices went through the portal
    grant_services.notices_record_outside(call=call, by=staff, note=data.NINAITE_NOTICES_NOTE)
    if call.adoptions_published_at is None:
        grant_services.adoptions_publish(call=call, publish=True, by=staff)
    report.created.append("r6-ninaite: notices recorded as sent outside the portal; adopted list published")


def _demo_mfa(user: User) -> DemoAccount:
    """TOTP plus recovery codes, so a newcomer can log in without an authenticator app."""
    account = DemoAccount(email=user.email, role=user.role)
    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if totp is None:
        totp = TOTP.activate(user, generate_totp_secret()).instance
    account.totp_secret = decrypt(totp.data["secret"])
    codes_row = Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).first()
    codes = RecoveryCodes(codes_row) if codes_row else RecoveryCodes.activate(user)
    unused = codes.get_unused_codes()
    if not unused:  # every code was used: issue a fresh set
        codes.instance.delete()
        codes = RecoveryCodes.activate(user)
        unused = codes.get_unused_codes()
    account.recovery_code = unused[0]
    return account


def seed_users(report: SeedReport) -> dict[str, User]:
    users = {}
    for email, name, role in data.DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = user_create(
                email=email, password=data.DEMO_PASSWORD, role=Role(role), full_name=name, email_verified=True
            )
            report.created.append(f"user {email}")
        users[email] = user
        if user.requires_mfa:
            report.accounts.append(_demo_mfa(user))
        else:
            report.accounts.append(DemoAccount(email=email, role=role))
    return users


def seed_demo_organisation(users: dict[str, User], report: SeedReport) -> None:
    values = data.DEMO_ORGANISATION
    if Organisation.objects.filter(name=values["name"]).exists():
        return
    base = values["corporate_base_number"]
    profile = {k: v for k, v in values.items() if k not in ("type", "corporate_base_number")}
    organisation = organisation_create(
        **profile,
        applicant_type=ApplicantType.objects.get(code=values["type"]),
        corporate_number=cn.calc_check_digit(base) + base,
        owner=users["applicant@example.jp"],
    )
    report.created.append(f"organisation {organisation.name}")


def seed_practice_review(users: dict[str, User], report: SeedReport, *, now: dt.datetime) -> None:
    """Six fictional applications on the practice call, assigned to the demo reviewers; two of
    them have scored theirs, the first demo reviewer has assignments waiting for them."""
    from applications import services as application_services
    from applications.models import Application, BudgetCategory
    from reviews import services as review_services
    from reviews.models import Assignment, ReviewPhase

    practice = Call.objects.get(slug="practice")
    if Application.objects.filter(call=practice, organisation__name=data.PRACTICE_APPLICANTS[0][0]).exists():
        return
    npo = ApplicantType.objects.get(code="npo")
    submitter = users["colleague@example.jp"]
    for index, (name, kana, prefecture, theme, title, summary, area, amount) in enumerate(data.PRACTICE_APPLICANTS):
        base = f"{900000000100 + index:012d}"
        organisation = organisation_create(
            name=name,
            name_kana=kana,
            applicant_type=npo,
            prefecture=prefecture,
            corporate_number=cn.calc_check_digit(base) + base,
            # Each organisation its own representative, address and phone: the integrity checks
            # (reviews/integrity.py) would rightly flag six organisations sharing them.
            postal_code="100-0001",
            address=f"（デモ用の架空の所在地 {index + 1}）",
            representative_title="代表理事",
            representative_name=f"代表 {PRACTICE_REPRESENTATIVES[index % len(PRACTICE_REPRESENTATIVES)]}",
            contact_name="担当 花子",
            phone=f"03-5555-{index + 1:04d}",
            email=f"demo{index}@example.jp",
        )
        application = application_services.application_start(
            call=practice, organisation=organisation, user=submitter, now=now
        )
        application_services.application_save_draft(
            application_id=application.pk,
            user=submitter,
            base_version=application.version,
            raw={},
            now=now,
            fields={
                "theme": practice.themes.get(number=theme),
                "title": title,
                "summary": summary,
                "area_prefectures": area,
                "period_start": dt.date(2025, 7, 1),
                "period_end": dt.date(2026, 2, 28),
            },
            budget_lines=[
                application_services.BudgetLineInput(BudgetCategory.HONORARIA, "講師謝金", 10, amount // 20),
                application_services.BudgetLineInput(
                    BudgetCategory.RENTAL, "会場借料", 1, amount - 10 * (amount // 20)
                ),
            ],
        )
        application_services.project_answers_save(
            # (by the system: the demo's submitter is not a member of these fictional organisations)
            application,
            {**data.PROJECT_ANSWERS, "purpose": summary, "activities": summary},
            by=None,
            now=now,
        )
        application_services.application_submit(application_id=application.pk, user=submitter, now=now)
    review_services.review_round_for(call=practice)
    review_services.phase_set(call=practice, phase=ReviewPhase.REVIEWING, by=users["staff@example.jp"])
    reviewers = [users["reviewer@example.jp"], users["reviewer2@example.jp"], users["reviewer3@example.jp"]]
    review_services.assignments_auto(
        call=practice, reviewers=reviewers, due_at=now + dt.timedelta(days=45), assigned_by=users["staff@example.jp"]
    )
    criteria = list(practice.criteria.order_by("order"))
    for assignment in (
        Assignment.objects.filter(application__call=practice).exclude(reviewer=reviewers[0]).order_by("id")
    ):
        review_services.assignment_declare(assignment=assignment, has_conflict=False)
        # Reviewer 3 is the harsh one: calibration has something to correct.
        offset = -1 if assignment.reviewer_id == reviewers[2].pk else 0
        scores = {
            c.pk: max(0, min(c.max_score, (assignment.application_id + c.order) % 3 + 3 + offset)) for c in criteria
        }
        review_services.review_save(
            assignment=assignment,
            scores=scores,
            comment_to_staff="デモの講評です。",
            comment_to_applicant="",
            submit=True,
        )
    report.created.append("practice call: six submitted applications with reviews")


def seed_demo(*, now: dt.datetime | None = None) -> SeedReport:
    """Load everything. The demo organisations are fictional: the receipts of their practice
    applications are made, and their mails go to Django's dummy backend (nowhere)."""
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        return _seed_demo(now=now)


def seed_unsubmitted_drafts(users: dict[str, User], report: SeedReport) -> None:
    """Drafts left unsubmitted on r7-npo-model, so `send_reminders --now 2025-05-29T12:00+09:00`
    has someone to remind. Made as of 2025-05-20, inside the call's window."""
    from applications import services as application_services
    from applications.models import Application, MemberRole, Membership

    call = Call.objects.get(slug="r7-npo-model")
    if Application.objects.filter(call=call).exists():
        return
    as_of = _jst(2025, 5, 20, 10, 0)
    demo = Organisation.objects.get(name=data.DEMO_ORGANISATION["name"])
    drafts = [(demo, users["applicant@example.jp"], "つながりの場づくり（下書き）")]
    for name, _kana, *_rest in data.PRACTICE_APPLICANTS[:2]:
        organisation = Organisation.objects.get(name=name)
        Membership.objects.get_or_create(
            organisation=organisation, user=users["colleague@example.jp"], defaults={"role": MemberRole.OWNER}
        )
        drafts.append((organisation, users["colleague@example.jp"], ""))
    for organisation, user, title in drafts:
        application = application_services.application_start(call=call, organisation=organisation, user=user, now=as_of)
        if title:
            application_services.application_save_draft(
                application_id=application.pk,
                user=user,
                fields={"title": title},
                budget_lines=[],
                base_version=application.version,
                raw={},
                now=as_of,
            )
    report.created.append("r7-npo-model: three unsubmitted drafts")


@transaction.atomic
def seed_demo_local_government(users: dict[str, User], report: SeedReport) -> None:
    """A fictional local government with its own account, to apply to the practice 交付金 call."""
    values = data.DEMO_LOCAL_GOVERNMENT
    if Organisation.objects.filter(local_government_code=values["local_government_code"]).exists():
        return
    profile = {k: v for k, v in values.items() if k != "type"}
    organisation = organisation_create(
        **profile,
        applicant_type=ApplicantType.objects.get(code=values["type"]),
        prefecture="",
        owner=users["city@example.jp"],
    )
    report.created.append(f"organisation {organisation.name}")


def _seed_demo(*, now: dt.datetime | None = None) -> SeedReport:
    report = SeedReport()
    now = now or timezone.now()
    seed_calls(report, now=now)
    seed_forms(report)
    users = seed_users(report)
    seed_demo_organisation(users, report)
    seed_demo_local_government(users, report)
    seed_practice_review(users, report, now=now)
    seed_unsubmitted_drafts(users, report)
    seed_ninaite_public_record(users, report)
    types = _applicant_types(report)
    seed_practice_awards(
        users,
        _npo_model_defaults(_programme("npo-model", report)),
        [types[code] for code in data.NON_PROFIT_CORPORATIONS],
        report,
    )
    return report
