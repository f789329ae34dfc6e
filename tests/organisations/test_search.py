import pytest
from stdnum import luhn
from stdnum.fr import siren as siren_number
from stdnum.fr import siret as siret_number

from organisations import search
from organisations.search import get_searchable, search_establishments, text_query
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory, with_check_digit

pytestmark = pytest.mark.django_db

LA_POSTE_SIREN = "356000000"


def found(results) -> list[str]:
    return [establishment.siret for establishment in results.page]


@pytest.fixture
def paris():
    return EstablishmentFactory(
        legal_unit=LegalUnitFactory(commune=True, denomination="COMMUNE DE PARIS"),
        name="MAIRIE",
        postal_code="75004",
        city="PARIS",
        commune_code="75104",
    )


@pytest.fixture
def saint_denis_pair():
    """Two communes of the same name: one in Seine-Saint-Denis, one on La Réunion."""
    metropole = EstablishmentFactory(
        legal_unit=LegalUnitFactory(commune=True, denomination="COMMUNE DE SAINT-DENIS"),
        postal_code="93200",
        city="SAINT-DENIS",
        commune_code="93066",
    )
    reunion = EstablishmentFactory(
        legal_unit=LegalUnitFactory(commune=True, denomination="COMMUNE DE SAINT-DENIS"),
        postal_code="97400",
        city="SAINT-DENIS",
        commune_code="97411",
    )
    return metropole, reunion


@pytest.mark.parametrize(
    "query", ["comm paris", "Paris commune", "COMMUNE DE PARIS", "  pari   COM  ", "mairie"]
)
def test_name_words_match_as_prefixes_in_any_order_and_case(paris, query):
    EstablishmentFactory(
        legal_unit=LegalUnitFactory(commune=True, denomination="COMMUNE DE LYON"), city="LYON"
    )

    results = search_establishments(query=query)

    assert results.error == ""
    assert results.kind == "text"
    assert found(results) == [paris.siret]


@pytest.mark.parametrize(
    "query", ["ile de france region", "ÎLE-DE-FRANCE", "Région Île", "region ile-de-france"]
)
def test_accents_and_punctuation_are_ignored(query):
    region = EstablishmentFactory(
        legal_unit=LegalUnitFactory(denomination="Région Île-de-France"), city="SAINT-OUEN"
    )

    assert found(search_establishments(query=query)) == [region.siret]


def test_every_typed_word_must_match(paris):
    # Hence the reference's tip: "Commune de Paris" rather than "Ville de Paris".
    results = search_establishments(query="ville de paris")

    assert results.total == 0
    assert results.error == ""


@pytest.mark.parametrize("query", ["", "   ", "-- ' --"])
def test_a_query_without_words_asks_for_a_name_or_a_number(query):
    results = search_establishments(query=query)

    assert results.error == "Saisissez le nom de l'organisme, son SIREN ou son SIRET."
    assert results.page is None


def test_the_postal_code_narrows_a_name_search(saint_denis_pair):
    metropole, reunion = saint_denis_pair

    assert sorted(found(search_establishments(query="saint denis"))) == sorted(
        [metropole.siret, reunion.siret]
    )
    assert found(search_establishments(query="saint denis", postal_code="97400")) == [reunion.siret]
    assert found(search_establishments(query="saint denis", postal_code=" 93200 ")) == [metropole.siret]


def test_the_postal_code_also_matches_the_cedex_code():
    ddt = EstablishmentFactory(
        legal_unit=LegalUnitFactory(denomination="DIRECTION DEPARTEMENTALE DES TERRITOIRES", sigle="DDT"),
        postal_code="54000",
        cedex_code="54035",
        cedex_label="NANCY CEDEX",
    )

    assert found(search_establishments(query="ddt", postal_code="54035")) == [ddt.siret]
    assert found(search_establishments(query="ddt", postal_code="54000")) == [ddt.siret]
    assert search_establishments(query="ddt", postal_code="54100").total == 0


def test_the_departement_filter_uses_the_departement_of_the_commune(saint_denis_pair):
    metropole, reunion = saint_denis_pair

    assert reunion.departement == "974"
    assert found(search_establishments(query="saint denis", departement="974")) == [reunion.siret]
    assert found(search_establishments(query="saint denis", departement="93")) == [metropole.siret]
    assert search_establishments(query="saint denis", departement="54").total == 0


def test_a_siren_gives_the_head_office_first_then_the_other_establishments():
    unit = LegalUnitFactory(commune=True, denomination="COMMUNE DE CLAMART")
    # Names chosen so that alphabetical order alone would put the head office last.
    head_office = EstablishmentFactory(legal_unit=unit, name="MAIRIE")
    schools = [
        EstablishmentFactory(legal_unit=unit, secondary=True, name="ECOLE ELEMENTAIRE"),
        EstablishmentFactory(legal_unit=unit, secondary=True, name="ECOLE MATERNELLE"),
    ]
    EstablishmentFactory(legal_unit=LegalUnitFactory(denomination="COMMUNE DE CLAMART"))

    spaced_siren = f"{unit.siren[:3]} {unit.siren[3:6]} {unit.siren[6:]}"
    results = search_establishments(query=spaced_siren)

    assert results.kind == "siren"
    assert results.total == 3
    assert found(results) == [head_office.siret, *(school.siret for school in schools)]


def test_a_siret_gives_exactly_that_establishment():
    unit = LegalUnitFactory()
    EstablishmentFactory(legal_unit=unit)
    school = EstablishmentFactory(legal_unit=unit, secondary=True)

    results = search_establishments(query=school.siret)

    assert results.kind == "siret"
    assert found(results) == [school.siret]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("123456789", "Ce numéro SIREN n'est pas valide : vérifiez les 9 chiffres."),
        ("123 456 789", "Ce numéro SIREN n'est pas valide : vérifiez les 9 chiffres."),
        ("12345678901234", "Ce numéro SIRET n'est pas valide : vérifiez les 14 chiffres."),
        ("35600000000014", "Ce numéro SIRET n'est pas valide : vérifiez les 14 chiffres."),
        ("1234567", "Un SIREN compte 9 chiffres et un SIRET 14 : vérifiez le numéro saisi."),
        ("1234567890", "Un SIREN compte 9 chiffres et un SIRET 14 : vérifiez le numéro saisi."),
    ],
)
def test_an_invalid_number_is_explained(query, message):
    digits = query.replace(" ", "")
    assert not siren_number.is_valid(digits)
    assert not siret_number.is_valid(digits)

    results = search_establishments(query=query)

    assert results.error == message
    assert results.page is None
    assert results.total == 0


def test_la_poste_sirets_pass_when_their_digit_sum_is_a_multiple_of_5():
    siret = "35600000049837"
    # Not a Luhn number: only La Poste's exception makes it valid.
    assert not luhn.is_valid(siret)
    assert sum(int(digit) for digit in siret) % 5 == 0
    assert siret_number.is_valid(siret)
    office = EstablishmentFactory(
        legal_unit=LegalUnitFactory(siren=LA_POSTE_SIREN, denomination="LA POSTE"),
        siret=siret,
        secondary=True,
    )

    results = search_establishments(query=siret)

    assert results.error == ""
    assert found(results) == [office.siret]


def test_non_diffusible_establishments_are_never_shown():
    hidden = EstablishmentFactory(non_diffusible=True, legal_unit__denomination="CABINET INFIRMIER DUPONT")

    for query in ["cabinet dupont", hidden.siren, hidden.siret]:
        results = search_establishments(query=query)
        assert results.total == 0, query
        assert results.error == "", query


def test_open_establishments_come_before_closed_ones():
    # The closed one sorts first by name: only its state puts it last.
    closed = EstablishmentFactory(
        closed=True, legal_unit__denomination="COMMUNE DE SAINT-DENIS", name="A MAIRIE", commune_code="93066"
    )
    current = EstablishmentFactory(
        legal_unit__denomination="COMMUNE DE SAINT-DENIS", name="MAIRIE", commune_code="93066"
    )

    assert found(search_establishments(query="commune saint denis")) == [current.siret, closed.siret]


def test_ten_results_per_page_with_the_total():
    EstablishmentFactory.create_batch(23, legal_unit__denomination="CENTRE COMMUNAL D'ACTION SOCIALE")

    pages = [search_establishments(query="action sociale", page=number) for number in (1, 2, 3)]

    assert [results.total for results in pages] == [23, 23, 23]
    assert [len(results.page) for results in pages] == [10, 10, 3]
    assert [results.page.number for results in pages] == [1, 2, 3]
    assert pages[0].page.paginator.num_pages == 3
    sirets = [siret for results in pages for siret in found(results)]
    assert len(set(sirets)) == 23


def test_a_page_of_results_costs_three_queries(django_assert_num_queries):
    EstablishmentFactory.create_batch(12, legal_unit__denomination="CENTRE HOSPITALIER")

    # The words the prefixes begin, the matches (counted and sorted), the page with its legal units.
    with django_assert_num_queries(3):
        results = search_establishments(query="centre hospitalier")
        names = [
            (establishment.display_name, establishment.legal_unit.sigle) for establishment in results.page
        ]

    assert len(names) == 10


def test_get_searchable_returns_only_what_the_search_could_show():
    visible = EstablishmentFactory()
    hidden = EstablishmentFactory(non_diffusible=True)

    assert get_searchable(visible.siret) == visible
    assert get_searchable(hidden.siret) is None
    assert get_searchable(with_check_digit("1" * 13)) is None  # valid but unknown
    assert get_searchable(visible.siren) is None
    assert get_searchable("") is None


# Large result sets and prefixes --------------------------------------------------------------


def test_beyond_the_count_limit_the_total_says_more_and_the_order_holds(monkeypatch):
    closed = EstablishmentFactory.create_batch(3, closed=True, legal_unit__denomination="CENTRE SOCIAL")
    secondary = EstablishmentFactory.create_batch(4, secondary=True, legal_unit__denomination="CENTRE SOCIAL")
    head_offices = EstablishmentFactory.create_batch(5, legal_unit__denomination="CENTRE SOCIAL")
    expected = [
        e.siret for group in (head_offices, secondary, closed) for e in sorted(group, key=lambda e: e.siret)
    ]

    exact = search_establishments(query="centre social")
    assert (exact.total, exact.total_is_exact) == (12, True)
    assert found(exact) + found(search_establishments(query="centre social", page=2)) == expected

    # Past the limit the matches are not all read: the page comes from the order index, same order.
    monkeypatch.setattr(search, "COUNT_LIMIT", 6)
    capped = search_establishments(query="centre social")
    assert (capped.total, capped.total_is_exact) == (6, False)
    assert found(capped) == expected[:10]


def test_pages_links_are_elided_around_the_current_page(monkeypatch):
    monkeypatch.setattr(search, "PER_PAGE", 1)
    monkeypatch.setattr(search, "MAX_PAGES", 100)
    EstablishmentFactory.create_batch(12, legal_unit__denomination="CENTRE SOCIAL")

    results = search_establishments(query="centre social", page=6)

    assert results.page.number == 6
    assert [str(number) for number in results.page_numbers] == ["1", "…", "4", "5", "6", "7", "8", "…", "12"]


def test_a_prefix_stands_for_the_words_it_begins(paris):
    EstablishmentFactory(legal_unit=LegalUnitFactory(denomination="COMMERCE DE PARIS"), city="PARIS")

    assert text_query("comm pari") == "('commerce' | 'commune') & ('paris')"
    assert text_query("zzz paris") is None  # no word begins with ZZZ: nothing can match
    assert found(search_establishments(query="zzz paris")) == []
    assert len(found(search_establishments(query="comm pari"))) == 2


def test_a_prefix_beginning_too_many_words_stays_a_prefix(paris, monkeypatch):
    EstablishmentFactory(legal_unit=LegalUnitFactory(denomination="COMMERCE DE PARIS"), city="PARIS")
    monkeypatch.setattr(search, "PREFIX_WORDS", 1)

    assert text_query("comm") == "'comm':*"
    assert len(found(search_establishments(query="comm"))) == 2


def test_link_words_and_single_letters_are_left_out_beside_other_words(paris):
    orleans = EstablishmentFactory(
        legal_unit=LegalUnitFactory(denomination="OEUVRE D'ORLEANS"), city="ORLEANS"
    )
    departement = EstablishmentFactory(
        legal_unit=LegalUnitFactory(denomination="DEPARTEMENT DU NORD"), city="LILLE"
    )

    assert text_query("commune de") == "('commune')"
    assert text_query("l'oeuvre d'orléans") == "('oeuvre') & ('orleans')"
    assert found(search_establishments(query="commune de")) == [paris.siret]
    assert found(search_establishments(query="Œuvre d’Orléans")) == [orleans.siret]
    # Alone, a link word is a prefix like any other.
    assert departement.siret in found(search_establishments(query="de"))
    # They are not words of the index.
    assert "'de'" not in paris.search_vector
    assert "'d'" not in orleans.search_vector


def test_the_postal_code_is_a_word_of_the_index_that_nobody_can_type(paris):
    assert text_query("paris", postal_code="75004") == "('paris') & 'cp=75004'"
    # Typed in the name field, "cp=75004" is two words, CP and 75004, which no name holds.
    assert found(search_establishments(query="cp=75004")) == []
    assert found(search_establishments(query="paris", postal_code="75004")) == [paris.siret]
    assert found(search_establishments(query="paris", postal_code="75005")) == []
