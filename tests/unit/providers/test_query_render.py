"""Rendering query templates: placeholders, unknown names, and escaping that round-trips."""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canary.providers.render import TemplateError, escape_regex, escape_string, render

pytestmark = pytest.mark.unit

# Both quote styles of a PromQL string literal unquote like Python's (we only emit escapes the
# two languages share), so Python's own parser is an independent check of what we produce.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


def _unquote(literal: str) -> str:
    value = ast.literal_eval(literal)
    assert isinstance(value, str)
    return value


def _literal_at(rendered: str, start: int) -> str:
    """The quoted literal that opens at `start`, closing quote included."""
    quote, i = rendered[start], start + 1
    while rendered[i] != quote:
        i += 2 if rendered[i] == "\\" else 1
    return rendered[start : i + 1]


def test_placeholders_with_and_without_spaces_are_substituted() -> None:
    rendered = render(
        'x{a="{{ namespace }}", b="{{canary}}"}[{{  interval }}]',
        {"namespace": "prod", "canary": "web", "interval": "30s"},
    )
    assert rendered == 'x{a="prod", b="web"}[30s]'


def test_the_same_variable_may_appear_many_times() -> None:
    assert render('"{{ a }}{{ a }}"', {"a": "x"}) == '"xx"'


def test_an_unknown_variable_is_an_error_naming_it_and_the_known_ones() -> None:
    with pytest.raises(TemplateError, match=r"unknown variable \{\{ canry \}\}; known: canary"):
        render('x{a="{{ canry }}"}', {"canary": "web"})


@pytest.mark.parametrize("template", ['"{{ .Namespace }}"', '"{{ a | upper }}"', '"{{ a }"'])
def test_a_malformed_placeholder_is_an_error(template: str) -> None:
    with pytest.raises(TemplateError, match="malformed placeholder"):
        render(template, {"a": "x"})


def test_text_without_placeholders_is_unchanged() -> None:
    query = 'sum(rate(x{a=~"5..", b=\'c\', d=`e\\`}[1m])) # comment "with quote'
    assert render(query, {}) == query


def test_a_quote_in_a_value_cannot_close_the_literal() -> None:
    rendered = render('x{a="{{ v }}"}', {"v": 'evil"} or vector(1) #'})
    assert rendered == 'x{a="evil\\"} or vector(1) #"}'


def test_a_value_in_a_regex_matcher_matches_only_itself() -> None:
    rendered = render('x{pod=~"{{ canary }}-[a-z0-9]+"}', {"canary": "web.v2"})
    assert rendered == 'x{pod=~"web\\\\.v2-[a-z0-9]+"}'
    regex = _unquote(rendered[rendered.index('"') : rendered.rindex('"') + 1])
    assert re.fullmatch(regex, "web.v2-abc1")
    assert not re.fullmatch(regex, "webxv2-abc1")


def test_negative_regex_matchers_and_spaces_before_the_literal_count_as_regex() -> None:
    assert render('x{a!~ "{{ v }}"}', {"v": "a+"}) == 'x{a!~ "a\\\\+"}'


def test_an_equality_matcher_does_not_regex_escape() -> None:
    assert render('x{a="{{ v }}"}', {"v": "a.b"}) == 'x{a="a.b"}'


def test_single_quoted_literals_escape_single_quotes() -> None:
    assert render("x{a='{{ v }}'}", {"v": 'it\'s "ok"'}) == "x{a='it\\'s \"ok\"'}"


def test_raw_literals_take_values_verbatim_but_reject_backticks() -> None:
    assert render("x{a=`{{ v }}`}", {"v": 'a\\b"'}) == 'x{a=`a\\b"`}'
    with pytest.raises(TemplateError, match="raw"):
        render("x{a=`{{ v }}`}", {"v": "a`b"})


@pytest.mark.parametrize("value", ["30s", "1m30s", "8080", "0.99", "job:rate5m"])
def test_bare_placeholders_take_plain_tokens(value: str) -> None:
    assert render("x[{{ v }}]", {"v": value}) == f"x[{value}]"


@pytest.mark.parametrize("value", ["", "5m]) or vector(1", "a-b", "1 + 1", '"q"'])
def test_bare_placeholders_reject_anything_that_could_change_the_query(value: str) -> None:
    with pytest.raises(TemplateError, match="outside a string literal"):
        render("x[{{ v }}]", {"v": value})


def test_a_placeholder_in_a_comment_cannot_end_the_comment() -> None:
    rendered = render("x # by {{ v }}\n", {"v": "a\nvector(1)"})
    assert rendered == "x # by a\\nvector(1)\n"


def test_an_escaped_quote_in_the_template_does_not_end_its_literal() -> None:
    assert render('x{a="q\\"{{ v }}"}', {"v": "."}) == 'x{a="q\\"."}'


def test_an_unterminated_literal_is_an_error() -> None:
    with pytest.raises(TemplateError, match="unterminated"):
        render('x{a="{{ v }}}', {"v": "a"})


def test_control_characters_and_the_replacement_character_are_escaped() -> None:
    assert escape_string("a\nb\tc\x00\x7f\ufffd") == "a\\nb\\tc\\x00\\x7f\\ufffd"


def test_lone_surrogates_are_rejected() -> None:
    with pytest.raises(TemplateError, match="surrogate"):
        escape_string("a\ud800")


@given(any_text)
def test_any_value_round_trips_through_a_double_quoted_literal(value: str) -> None:
    rendered = render('x{a="{{ v }}"}', {"v": value})
    literal = _literal_at(rendered, rendered.index('"'))
    assert _unquote(literal) == value
    assert rendered.endswith(literal + "}")  # nothing leaked past the literal


@given(any_text)
def test_any_value_round_trips_through_a_single_quoted_literal(value: str) -> None:
    rendered = render("x{a='{{ v }}'}", {"v": value})
    literal = _literal_at(rendered, rendered.index("'"))
    assert _unquote(literal) == value
    assert rendered.endswith(literal + "}")


@given(any_text, any_text)
def test_any_value_in_a_regex_matcher_matches_exactly_itself(value: str, other: str) -> None:
    rendered = render('x{a=~"{{ v }}"}', {"v": value})
    regex = _unquote(_literal_at(rendered, rendered.index('"')))
    assert re.sub(r"\\(.)", r"\1", regex, flags=re.DOTALL) == value
    assert re.fullmatch(regex, value, flags=re.DOTALL)
    assert bool(re.fullmatch(regex, other, flags=re.DOTALL)) == (other == value)


def test_escape_regex_escapes_exactly_the_re2_metacharacters() -> None:
    assert escape_regex(r"a.b+c*d?e(f)g|h[i]j{k}l^m$n\o-p/q") == (
        r"a\.b\+c\*d\?e\(f\)g\|h\[i\]j\{k\}l\^m\$n\\o-p/q"
    )
