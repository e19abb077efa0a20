"""Write an audit entry (call it inside the transaction of the change it records)."""

from django.db import models

from .models import AuditEntry


def audit(*, actor, action: str, obj: models.Model, before: dict | None, after: dict | None) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        before=before,
        after=after,
    )
