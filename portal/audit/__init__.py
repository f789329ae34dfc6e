"""The audit log: who did what to which object, when and from where.

Every app records its decisions through ``portal.audit.record`` (see services.py).
"""


def record(action, **kwargs):
    from portal.audit.services import record as _record

    return _record(action, **kwargs)
