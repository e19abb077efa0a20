"""The portal's user: logs in by e-mail, has one role.

Administrator = the ``ADMINISTRATOR`` role. ``accounts.services.user_set_role`` keeps Django's
``is_staff``/``is_superuser`` flags in step with it (administrators use the Django admin to
configure programmes, calls and themes); nothing else writes those flags.
"""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    REVIEWER = "reviewer", _("Reviewer")
    STAFF = "staff", _("Programme staff")
    ADMINISTRATOR = "administrator", _("Administrator")


# Roles that handle other people's applications must use a second factor (TOTP).
ROLES_REQUIRING_MFA = frozenset({Role.REVIEWER, Role.STAFF, Role.ADMINISTRATOR})


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        # Created in its first state, as an administrator (creation is not a role change).
        extra_fields.setdefault("role", Role.ADMINISTRATOR)
        extra_fields.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    # Any role may become any other, always through ``accounts.services.user_set_role``.
    TRANSITIONS = {role: frozenset(other for other in Role if other != role) for role in Role}

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("name"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.APPLICANT)
    language = models.CharField(
        _("language of e-mails"), max_length=5, choices=[("ja", "日本語"), ("en", "English")], default="ja"
    )
    # Optional reminders may be switched off; receipts and notices are always sent.
    wants_deadline_reminders = models.BooleanField(_("reminders before a call's deadline"), default=True)
    wants_review_reminders = models.BooleanField(_("reminders before a review is due"), default=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name or self.email

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR

    @property
    def is_programme_staff(self) -> bool:
        """Staff pages: programme staff and administrators."""
        return self.role in (Role.STAFF, Role.ADMINISTRATOR)

    @property
    def is_reviewer(self) -> bool:
        return self.role == Role.REVIEWER

    @property
    def requires_mfa(self) -> bool:
        return self.role in ROLES_REQUIRING_MFA
