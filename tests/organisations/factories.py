import factory
from stdnum import luhn

from organisations.models import Establishment, LegalUnit
from organisations.referentials import departement_of_commune
from organisations.services import refresh_search_index


def with_check_digit(digits: str) -> str:
    return digits + luhn.calc_check_digit(digits)


class LegalUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalUnit
        django_get_or_create = ["siren"]

    # Made-up SIRENs with a valid check digit.
    siren = factory.Sequence(lambda n: with_check_digit(f"99{n:06d}"))
    denomination = factory.Sequence(lambda n: f"SYNDICAT MIXTE NUMERO {n}")
    legal_category = "7354"
    nic_siege = "00012"

    class Params:
        commune = factory.Trait(legal_category="7210")
        closed = factory.Trait(is_active=False)


class EstablishmentFactory(factory.django.DjangoModelFactory):
    """An establishment, indexed for the search once created (search_vector is computed in SQL)."""

    class Meta:
        model = Establishment
        skip_postgeneration_save = True

    legal_unit = factory.SubFactory(LegalUnitFactory)
    siret = factory.LazyAttributeSequence(
        lambda obj, n: with_check_digit(f"{obj.legal_unit.siren}{n % 10000:04d}")
    )
    is_siege = True
    street_number = "1"
    street_type = "PL"
    street_name = "DE L'HOTEL DE VILLE"
    postal_code = "54000"
    city = "NANCY"
    commune_code = "54395"
    departement = factory.LazyAttribute(lambda obj: departement_of_commune(obj.commune_code))
    activity = "84.11Z"

    class Params:
        secondary = factory.Trait(is_siege=False)
        closed = factory.Trait(is_active=False)
        non_diffusible = factory.Trait(is_diffusible=False)

    @factory.post_generation
    def indexed(obj, create, extracted, **kwargs):
        if create:
            refresh_search_index(sirets=[obj.siret])
            obj.refresh_from_db(fields=["search_vector"])
