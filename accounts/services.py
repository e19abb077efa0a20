"""Every change to a user's role goes through here."""

from allauth.account.models import EmailAddress
from django.db import transaction

from .models import Role, User


@transaction.atomic
def user_set_role(*, user: User, role: Role) -> User:
    """Set the role; administrators (and only they) are Django superusers with admin access."""
    user.role = role
    is_admin = role == Role.ADMINISTRATOR
    user.is_staff = is_admin
    user.is_superuser = is_admin
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    return user


@transaction.atomic
def user_create(*, email: str, password: str, role: Role, full_name: str = "", email_verified: bool = False) -> User:
    """Create a user with a primary e-mail address (verified only when the caller vouches for it)."""
    user = User.objects.create_user(email=email, password=password, full_name=full_name)
    user_set_role(user=user, role=role)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    return user
