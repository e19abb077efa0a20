"""Load the seed's calls and demo accounts. Idempotent: what exists is left as it is."""

import datetime as dt
from dataclasses import dataclass, field

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.mfa.utils import decrypt
from django.db import transaction
from django.utils import timezone
from stdnum.jp import cn

from accounts.models import Role, User
from accounts.services import user_create
from applications.models import ApplicationStatus, Organisation
from applications.services import application_import_decided, organisation_create
from kodoku_portal.jp import JST

from ..models import ApplicantType, AreaRule, Call, Programme, Theme
from . import data

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


def _themes(call: Call, themes) -> None:
    for number, title, title_en, examples in themes:
        Theme.objects.get_or_create(
            call=call, number=number, defaults={"title": title, "title_en": title_en, "examples": "\n".join(examples)}
        )


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
    }


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

    kofukin = _programme("kofukin", report)
    _call(
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
        },
        [types["local-government"]],
        report,
    )

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


@transaction.atomic
def seed_demo(*, now: dt.datetime | None = None) -> SeedReport:
    report = SeedReport()
    seed_calls(report, now=now or timezone.now())
    users = seed_users(report)
    seed_demo_organisation(users, report)
    return report
