import json

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder

from portal.audit.models import AuditEntry


def record(
    action: str, *, actor=None, target=None, request=None, ip_address=None, details=None
) -> AuditEntry:
    """Write one audit entry, in the caller's transaction.

    ``actor`` is the user who acted (None for the system or an anonymous visitor); ``request``,
    when given, supplies the actor (if authenticated) and the client's IP address.
    """
    if request is not None:
        if actor is None and getattr(request, "user", None) is not None and request.user.is_authenticated:
            actor = request.user
        if ip_address is None:
            ip_address = getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR")
    entry = AuditEntry(
        action=action,
        actor=actor,
        actor_label=actor.get_username() if actor is not None else "",
        ip_address=ip_address or None,
        # Round-trip through the JSON encoder so dates, UUIDs and decimals are stored as text.
        details=json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder)),
    )
    if target is not None:
        entry.target_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
        entry.target_id = str(target.pk)
        entry.target_label = str(target)[:255]
    entry.save()
    return entry
