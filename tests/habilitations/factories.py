import factory

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, Service, ServiceConditions


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Service numéro {n}")
    description = "Un service en ligne de l'opérateur."
    url = factory.Sequence(lambda n: f"https://service{n}.operateur.localhost/")


class HabilitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Habilitation

    membership = factory.SubFactory("tests.organisations.factories.MembershipFactory")
    service = factory.SubFactory(ServiceFactory)
    status = HabilitationStatus.REQUESTED


class ServiceConditionsFactory(factory.django.DjangoModelFactory):
    """A published version of a service's conditions particulières."""

    class Meta:
        model = ServiceConditions

    service = factory.SubFactory(ServiceFactory)
    version = factory.Sequence(lambda n: f"2026-{n + 1:02d}")
    text = factory.LazyAttribute(lambda obj: f"Conditions particulières du service, version {obj.version}.")
