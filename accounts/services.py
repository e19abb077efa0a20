"""Every change to a user's role goes through here, and through the workflow function."""

from allauth.account.models import EmailAddress
from django.db import transaction

from kodoku_portal.workflow import change_state, record

from .models import Role, User


def _flags_for(role: Role) -> tuple[bool, bool]:
    """Administrators (and only they) are Django superusers with admin access."""
    is_admin = role == Role.ADMINISTRATOR
    return is_admin, is_admin


@transaction.atomic
def user_set_role(*, user: User, role: Role, by: User | None = None) -> User:
    """Set the role (audited, who and when) and keep is_staff/is_superuser in step with it."""
    user.is_staff, user.is_superuser = _flags_for(role)
    if user.role == role:
        user.save(update_fields=["is_staff", "is_superuser"])
        return user
    change_state(user, role, by=by, action="role_changed", field="role", update_fields=["is_staff", "is_superuser"])
    return user


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str,
    role: Role,
    full_name: str = "",
    email_verified: bool = False,
    by: User | None = None,
) -> User:
    """Create a user in their role with a primary e-mail address (verified only when the caller
    vouches for it); the creation is audited."""
    is_staff, is_superuser = _flags_for(role)
    user = User.objects.create_user(
        email=email, password=password, full_name=full_name, role=role, is_staff=is_staff, is_superuser=is_superuser
    )
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    record(user, by=by, action="user_created", after={"role": role.value if isinstance(role, Role) else role})
    return user
