import pytest
from django.test import RequestFactory

from portal import audit
from portal.audit.models import AuditEntry
from portal.middleware import ClientIPMiddleware
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def _request(**meta):
    request = RequestFactory().post("/", **meta)
    ClientIPMiddleware(lambda r: None)(request)
    return request


def test_record_keeps_who_what_which_object_when_and_from_where():
    agent = UserFactory(identifiant="agent.instructeur", is_staff=True)
    applicant = UserFactory(identifiant="jdupont")
    request = _request(REMOTE_ADDR="203.0.113.7")
    request.user = agent

    entry = audit.record("registration.approved", target=applicant, request=request, details={"reason": "ok"})

    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor == agent
    assert entry.actor_label == "agent.instructeur"
    assert entry.action == "registration.approved"
    assert entry.target_id == str(applicant.pk)
    assert entry.target_type.model == "user"
    assert entry.target_label == str(applicant)
    assert entry.ip_address == "203.0.113.7"
    assert entry.details == {"reason": "ok"}
    assert entry.created_at is not None


def test_the_label_survives_the_actors_deletion():
    agent = UserFactory(identifiant="parti")
    entry = audit.record("user.deleted", actor=agent)
    agent.delete()
    entry.refresh_from_db()
    assert entry.actor is None
    assert entry.actor_label == "parti"


def test_forwarded_addresses_are_believed_only_behind_trusted_proxies(settings):
    settings.PORTAL_TRUSTED_PROXIES = 0
    spoofed = _request(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert audit.record("login.failed", request=spoofed).ip_address == "10.0.0.2"

    settings.PORTAL_TRUSTED_PROXIES = 1
    proxied = _request(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 192.0.2.44")
    assert audit.record("login.failed", request=proxied).ip_address == "192.0.2.44"


def test_audit_entries_cannot_be_changed_or_deleted_in_the_admin(admin_client):
    entry = audit.record("demo.action")
    assert admin_client.get("/admin/audit/auditentry/").status_code == 200
    assert (
        admin_client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_a_forwarded_value_that_is_not_an_address_is_ignored(settings, client):
    settings.PORTAL_TRUSTED_PROXIES = 1
    garbage = _request(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.32849.150.155")
    assert audit.record("login.failed", request=garbage).ip_address == "10.0.0.2"
    # Through a whole request that writes the address (the signup's pending row): no 500.
    response = client.get("/connexion/", HTTP_X_FORWARDED_FOR="<script>, not-an-ip")
    assert response.status_code == 200
