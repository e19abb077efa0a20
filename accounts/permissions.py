"""Who may see a page: small named checks that return a decision and a reason.

Views use ``role_required``; reviewer, staff and administrator pages also require that the user
has set up TOTP (allauth.mfa) — they are sent to the set-up page first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .models import Role


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def has_totp(user) -> bool:
    return is_mfa_enabled(user, [Authenticator.Type.TOTP])


def role_allows(user, roles: frozenset[Role]) -> Decision:
    if not user.is_authenticated:
        return Decision(False, _("Please log in."))
    if user.role not in roles:
        return Decision(False, _("Your account does not have access to this page."))
    return Decision(True)


def role_required(*roles: Role) -> Callable:
    """Allow only users with one of ``roles``; those who need MFA must have set it up."""
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            decision = role_allows(user, allowed)
            if not decision:
                raise PermissionDenied(decision.reason)
            if user.requires_mfa and not has_totp(user):
                messages.warning(
                    request,
                    _(
                        "Reviewers and staff must set up two-factor authentication (an "
                        "authenticator app) before they can open this page."
                    ),
                )
                return redirect("mfa_activate_totp")
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = allowed
        return wrapped

    return decorator


STAFF_ROLES = (Role.STAFF, Role.ADMINISTRATOR)


def role_required_or_404(*roles: Role) -> Callable:
    """``role_required`` for a page about one object (an application, its files): a signed-in user
    of another role is told "not found" rather than "forbidden", so ids cannot be probed. The
    anonymous visitor is still sent to log in, and reviewers and staff to set up MFA."""
    guard = role_required(*roles)

    def decorator(view):
        guarded = guard(view)

        @wraps(guarded)
        def wrapped(request, *args, **kwargs):
            try:
                return guarded(request, *args, **kwargs)
            except PermissionDenied:
                raise Http404 from None

        return wrapped

    return decorator
