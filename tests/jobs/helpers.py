"""Shared by the tests of the periodic jobs: a frozen date and the audit entries of their runs."""

import datetime
import zoneinfo

from portal.audit.models import AuditEntry

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# Every job runs at this instant unless a test says otherwise (a Tuesday night, in winter time).
NOW = datetime.datetime(2026, 3, 10, 4, 0, tzinfo=PARIS)


def runs(action: str) -> list[dict]:
    """The details of each run of a job (its audit entries ``job.<name>``), oldest first, with
    their "at" read back as a date."""
    details = []
    for entry in AuditEntry.objects.filter(action=f"job.{action}").order_by("pk"):
        details.append({**entry.details, "at": datetime.datetime.fromisoformat(entry.details["at"])})
    return details
