"""Read-only JSON search of organisations: GET /api/organisations?q=…&code_postal=…&departement=…&page=…"""

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.validators import validate_postal_code
from organisations.referentials import activity_label, departement_choices
from organisations.search import MAX_PAGES, search_establishments
from portal import ratelimit

REQUESTS_PER_MINUTE = 60


def _serialize(establishment) -> dict:
    unit = establishment.legal_unit
    return {
        "siret": establishment.siret,
        "siren": establishment.siren,
        "nom": establishment.display_name,
        "enseigne": establishment.name,
        "sigle": unit.sigle,
        "categorie_juridique": unit.legal_category,
        "departement": establishment.departement,
        "siege": establishment.is_siege,
        "ouvert": establishment.is_active,
        "adresse": establishment.street_address,
        "complement_adresse": establishment.address_complement,
        "code_postal": establishment.postal_code,
        "ville": establishment.city,
        "code_cedex": establishment.cedex_code,
        "activite_principale": establishment.activity,
        "activite_principale_libelle": activity_label(establishment.activity),
    }


@require_GET
def organisations(request):
    if not ratelimit.allow(
        "api-organisations", request.client_ip or "", limit=REQUESTS_PER_MINUTE, window=60
    ):
        response = JsonResponse({"detail": _("Trop de requêtes : réessayez dans une minute.")}, status=429)
        response["Retry-After"] = "60"
        return response
    query = request.GET.get("q", "").strip()[:200]
    postal_code = request.GET.get("code_postal", "").strip()
    departement = request.GET.get("departement", "").strip().upper()
    errors = {}
    if not query:
        errors["q"] = [_("Indiquez un nom, un SIREN ou un SIRET (paramètre q).")]
    if postal_code:
        try:
            validate_postal_code(postal_code)
        except ValidationError as error:
            errors["code_postal"] = error.messages
    if departement and departement not in {code for code, _label in departement_choices()}:
        errors["departement"] = [_("Département inconnu : %(value)s.") % {"value": departement[:10]}]
    try:
        page = int(request.GET.get("page", "1"))
        if not 1 <= page <= MAX_PAGES:
            raise ValueError
    except ValueError:
        errors["page"] = [_("La page est un nombre entier entre 1 et %(max)s.") % {"max": MAX_PAGES}]
        page = 1
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    results = search_establishments(query=query, postal_code=postal_code, departement=departement, page=page)
    if results.error:
        return JsonResponse({"errors": {"q": [results.error]}}, status=400)
    return JsonResponse(
        {
            "count": results.total,
            "count_exact": results.total_is_exact,  # false: more than "count" match
            "page": results.page.number,
            "pages": results.page.paginator.num_pages,
            "per_page": results.page.paginator.per_page,
            "results": [_serialize(establishment) for establishment in results.page],
            "notes": list(results.notes),
        },
        json_dumps_params={"ensure_ascii": False},
    )
