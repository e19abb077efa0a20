"""Named permissions of the calls layer (the ``rules`` package)."""

import rules
from django.contrib.auth.models import AnonymousUser

from accounts.models import Role, User


@rules.predicate
def is_staff_role(user: User | AnonymousUser) -> bool:
    """Staff of the secretariat or an administrator."""
    return bool(getattr(user, "is_authenticated", False)) and user.role in (Role.STAFF, Role.ADMINISTRATOR)


can_edit_forms = is_staff_role

rules.add_rule("can_edit_forms", can_edit_forms)
