import factory
from stdnum import luhn

from organisations.enums import MembershipStatus, OnboardingRule
from organisations.models import Category, Establishment, LegalUnit, Membership
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


class MembershipFactory(factory.django.DjangoModelFactory):
    """A registration in an organisation; approved by default. Traits: admin, pending_admin."""

    class Meta:
        model = Membership
        skip_postgeneration_save = True

    user = factory.SubFactory("tests.accounts.factories.UserFactory")
    establishment = factory.SubFactory(EstablishmentFactory)
    legal_unit = factory.LazyAttribute(lambda obj: obj.establishment.legal_unit)
    status = MembershipStatus.APPROVED
    rule = OnboardingRule.R1_ORGANISATION_ADMIN
    category = factory.LazyFunction(lambda: Category.objects.get(name="Porteurs de projets"))
    function = factory.LazyAttribute(lambda obj: obj.category.functions.first())
    title = "Chef de projet"
    departement = "54"
    address = "1 PL DE L'HOTEL DE VILLE"
    postal_code = "54000"
    city = "NANCY"
    email = factory.LazyAttribute(lambda obj: obj.user.email)
    phone_landline = "+33383000000"
    cgu_version = "2026-01"

    class Params:
        admin = factory.Trait(is_admin=True, rule=OnboardingRule.R3_DELEGATED_ADMIN)
        pending_admin = factory.Trait(status=MembershipStatus.PENDING_ADMIN)
        pending_activation = factory.Trait(
            status=MembershipStatus.PENDING_ACTIVATION, rule=OnboardingRule.R3_DELEGATED_ADMIN
        )
