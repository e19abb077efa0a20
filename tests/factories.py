"""factory_boy factories for the portal's models."""

import datetime as dt

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from accounts.models import Role, User
from applications.models import Application, ApplicationStatus, Organisation
from calls.models import ApplicantType, Call, Programme, Theme
from kodoku_portal.jp import JST

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.jp")
    full_name = factory.Sequence(lambda n: f"利用者 {n}")
    role = Role.APPLICANT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=extracted is not False)

    @factory.post_generation
    def sync_flags(self, create, extracted, **kwargs):
        if create and self.role == Role.ADMINISTRATOR:
            User.objects.filter(pk=self.pk).update(is_staff=True, is_superuser=True)
            self.is_staff = self.is_superuser = True


def enable_totp(user: User) -> str:
    """Give ``user`` a TOTP authenticator; returns the secret (for computing codes)."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def has_totp(user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class ApplicantTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApplicantType
        django_get_or_create = ("code",)

    code = "npo"
    name = "特定非営利活動法人（NPO法人）"
    name_en = "NPO"


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"テスト事業 {n}")


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call
        skip_postgeneration_save = True

    programme = factory.SubFactory(ProgrammeFactory)
    slug = factory.Sequence(lambda n: f"call-{n}")
    title = factory.Sequence(lambda n: f"テスト公募 {n}")
    title_en = factory.Sequence(lambda n: f"Test call {n}")
    opens_at = dt.datetime(2025, 4, 21, 0, 0, tzinfo=JST)
    closes_at = dt.datetime(2025, 5, 30, 12, 0, tzinfo=JST)
    cap_amount = 2_000_000
    receipt_prefix = factory.Sequence(lambda n: f"T{n}")

    @factory.post_generation
    def eligible(self, create, extracted, **kwargs):
        if create:
            self.eligible_types.set(extracted or [ApplicantTypeFactory()])


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme

    call = factory.SubFactory(CallFactory)
    number = factory.Sequence(lambda n: n % 4 + 1)
    title = "誰もが気軽に参加できる地域のゆるやかなつながりの場づくり"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"特定非営利活動法人 テスト団体{n}")
    applicant_type = factory.SubFactory(ApplicantTypeFactory)
    prefecture = "13"


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    call = factory.SubFactory(CallFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    title = factory.Sequence(lambda n: f"テスト事業 {n}")
    status = ApplicationStatus.DRAFT


# --- rv-file: attachments read by reviewers and staff ---------------------------------------------

MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class AttachmentFactory(factory.django.DjangoModelFactory):
    """A stored attachment (a small PDF unless ``file__data`` and ``file_type`` say otherwise);
    store files under a temporary MEDIA_ROOT in the test."""

    class Meta:
        model = "applications.Attachment"

    application = factory.SubFactory(ApplicationFactory)
    kind = "articles"
    file = factory.django.FileField(data=MINIMAL_PDF, filename="upload")
    original_name = "定款.pdf"
    file_type = "pdf"
    size = factory.LazyAttribute(lambda attachment: attachment.file.size)


# --- issue 11, integrity checks (branch rv-integrity) ---------------------------------------------


class ReviewerAffiliationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "reviews.ReviewerAffiliation"

    reviewer = factory.SubFactory(UserFactory, role=Role.REVIEWER)
    organisation_name = factory.Sequence(lambda n: f"所属団体{n}")
    corporate_number = ""
    year_from = 2020
    year_to = None
