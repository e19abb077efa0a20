from django.conf import settings
from django.utils import timezone


def portal(request):
    return {"PORTAL_NAME": settings.PORTAL_NAME, "server_now": timezone.now()}
