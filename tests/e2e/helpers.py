"""Helpers shared by the browser tests."""

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from django.contrib.auth import get_user_model


def totp_secret(email: str) -> str:
    user = get_user_model().objects.get(email=email)
    return decrypt(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"])
