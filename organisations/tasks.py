import logging
from datetime import date

from celery import shared_task
from django.conf import settings

from organisations import delegation, sync
from organisations.sirene_api import SireneAPIError

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=6, default_retry_delay=30 * 60)
def sync_sirene(self, since: str | None = None) -> dict | None:
    """Daily (Celery beat): apply the changes INSEE processed since the latest one the mirror holds.

    A failed run is retried from the same day, so that no change between is skipped.
    """
    if not settings.INSEE_API_KEY:
        logger.warning("INSEE_API_KEY n'est pas définie : la synchronisation SIRENE n'est pas faite.")
        return None
    day = date.fromisoformat(since) if since else sync.default_since()
    try:
        report = sync.sync_from_insee(since=day)
    except sync.SyncAlreadyRunning as error:
        logger.info("%s", error)
        return None
    except SireneAPIError as error:
        raise self.retry(exc=error, kwargs={"since": day.isoformat()}) from error
    logger.info("Synchronisation SIRENE depuis le %s : %s", day, " ".join(report.lines()))
    return report.as_dict()


@shared_task
def expire_admin_claims() -> int:
    """Daily: admin claims whose code was not typed in time lapse (organisations/delegation.py)."""
    return delegation.expire_admin_claims()


@shared_task
def remind_admin_claims() -> int:
    """Daily: remind applicants whose activation code ends within the reminder delay."""
    return delegation.remind_admin_claims()
