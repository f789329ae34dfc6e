import factory

from accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    identifiant = factory.Sequence(lambda n: f"utilisateur{n}")
    email = factory.LazyAttribute(lambda user: f"{user.identifiant}@mairie-exemple.fr")
    first_name = "Camille"
    last_name = "Martin"
    civilite = "mme"
    password = factory.PostGenerationMethodCall("set_password", "Mot-de-passe-solide-2026")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])

    class Params:
        staff = factory.Trait(is_staff=True)
