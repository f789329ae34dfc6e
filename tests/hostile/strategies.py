"""What a hostile (or clumsy) visitor types: any Unicode text but lone surrogates, which no request
can carry, with control characters, mixed scripts, lengths up to 100,000 characters and strings
that look like numbers without being ASCII digits."""

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Every code point a browser can send (lone surrogates cannot be encoded in UTF-8).
CHARACTERS = st.characters(exclude_categories=("Cs",))

# Pieces that broke parsers, databases, e-mail headers or templates somewhere.
NASTY = [
    "\x00",
    "\x07",
    "\x08",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\r\n",
    "\r",
    "\t",
    "\u2028",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\ufffd",
    "\U0001f600",
    "%00",
    "%s",
    "%(name)s",
    "{0}",
    "{{ request }}",
    "<script>alert(1)</script>",
    "'; DROP TABLE accounts_user; --",
    "\\",
    "../",
    "@",
    " ",
]
# Names and words in other scripts, and letters whose case changes their length.
SCRIPTS = [
    "Émilie",
    "Ὀδυσσεύς",
    "Дмитрий",
    "محمد",
    "李小龍",
    "देवनागरी",
    "ﷺ",
    "𝔄𝔟𝔠",
    "ǅ",
    "İ",
    "ß",
    "ﬃ",
    "Ⅻ",
]

# Looks like a number: ASCII digits and separators, and digits of other scripts (١٢٣, ２, ², ½).
DIGIT_LIKE = st.text(
    st.sampled_from("0123456789 .-+/()") | st.characters(categories=("Nd", "No", "Nl")), max_size=30
)


def hostile_text() -> st.SearchStrategy[str]:
    """One value for one field."""
    return st.one_of(
        st.text(CHARACTERS, max_size=50),
        # ~100,000 characters, cheaply: a short text repeated.
        st.text(CHARACTERS, min_size=1, max_size=5).map(lambda text: text * 20_000),
        # Around the fields' limits (30, 150, 200, 255, 2000 characters).
        st.integers(min_value=1, max_value=2100).map(lambda length: "é" * length),
        st.lists(st.sampled_from(NASTY + SCRIPTS), min_size=1, max_size=8).map("".join),
        DIGIT_LIKE,
        st.tuples(st.text(CHARACTERS, max_size=12), st.text(CHARACTERS, max_size=12)).map(
            lambda parts: f"{parts[0]}@{parts[1]}.fr"
        ),
    )


def hostile_choices() -> st.SearchStrategy[list[str]]:
    """The values of a multiple choice (checkboxes): several hostile texts."""
    return st.lists(hostile_text(), min_size=1, max_size=3)


def hostile(max_examples: int):
    """Hypothesis settings of these tests: no example database (a failure found is kept as an
    @example of its test), no deadline (a 100,000-character value takes its time), the test's
    fixtures shared by its examples (each example counts the rows before and after itself)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
