"""Render `{{ name }}` placeholders in PromQL so that no value can change the query's shape.

A value lands escaped for where it stands: inside a string literal it is escaped for that
literal, inside a regex matcher (`=~`, `!~`) its regex metacharacters are escaped too, and
outside any literal it must be a bare token such as `30s`. Unknown names are errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_BARE_SAFE = re.compile(r"[A-Za-z0-9_:.]+")
_REGEX_META = frozenset("\\.+*?()|[]{}^$")  # Go's regexp.QuoteMeta set (Prometheus uses RE2)
_NAMED_ESCAPES = {
    "\\": "\\\\",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}
_QUOTES = "\"'`"
_COMMENT = "#"


class TemplateError(ValueError):
    """A template cannot be rendered safely; the message names the placeholder."""


def escape_string(value: str, *, quote: str = '"') -> str:
    """`value` escaped for the inside of a PromQL string literal opened with `quote`."""
    if quote == "`":
        if "`" in value or "\ufffd" in value:
            raise TemplateError(
                "a value containing '`' or U+FFFD cannot go in a raw `...` "
                "string; use a double-quoted literal"
            )
        return value
    out: list[str] = []
    for ch in value:
        code = ord(ch)
        if ch == quote:
            out.append("\\" + ch)
        elif ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif ch == "\ufffd":  # Prometheus' lexer reads a literal U+FFFD as invalid UTF-8
            out.append("\\ufffd")
        elif 0xD800 <= code <= 0xDFFF:
            raise TemplateError("a value contains a lone surrogate, which is not valid UTF-8")
        else:
            out.append(ch)
    return "".join(out)


def escape_regex(value: str) -> str:
    """`value` as a regex that matches exactly itself (before string escaping)."""
    return "".join("\\" + ch if ch in _REGEX_META else ch for ch in value)


def render(query_template: str, variables: Mapping[str, str]) -> str:
    """Substitute every `{{ name }}` in `query_template` from `variables`, escaped in context."""
    out: list[str] = []
    quote = ""  # "" outside literals, a quote character inside one, "#" inside a comment
    regex = False
    i, end = 0, len(query_template)
    while i < end:
        if query_template.startswith("{{", i):
            match = _PLACEHOLDER.match(query_template, i)
            if match is None:
                snippet = query_template[i : i + 24]
                raise TemplateError(f"malformed placeholder {snippet!r}: write {{{{ name }}}}")
            out.append(_substitute(match.group(1), variables, quote=quote, regex=regex))
            i = match.end()
            continue
        ch = query_template[i]
        if quote == "":
            if ch in _QUOTES:
                quote, regex = ch, _opens_regex(query_template, i)
            elif ch == _COMMENT:
                quote = _COMMENT
        elif quote == _COMMENT:
            quote = "" if ch == "\n" else quote
        elif ch == "\\" and quote != "`":
            out.append(query_template[i : i + 2])  # keep an escape pair together
            i += 2
            continue
        elif ch == quote:
            quote = ""
        out.append(ch)
        i += 1
    if quote not in ("", _COMMENT):
        raise TemplateError(f"unterminated {quote} string literal in query template")
    return "".join(out)


def _substitute(name: str, variables: Mapping[str, str], *, quote: str, regex: bool) -> str:
    if name not in variables:
        known = ", ".join(sorted(variables)) or "none"
        raise TemplateError(f"unknown variable {{{{ {name} }}}}; known: {known}")
    value = variables[name]
    if quote == "":
        if not _BARE_SAFE.fullmatch(value):
            raise TemplateError(
                f"{{{{ {name} }}}} stands outside a string literal, where only letters, "
                f"digits, '_', ':' and '.' are safe; got {value!r}. Quote the placeholder."
            )
        return value
    if quote == _COMMENT:
        return escape_string(value)  # keeps a newline from ending the comment
    return escape_string(escape_regex(value) if regex else value, quote=quote)


def _opens_regex(text: str, quote_at: int) -> bool:
    """Whether the literal opening at `quote_at` is the right side of `=~` or `!~`."""
    before = text[:quote_at].rstrip()
    return before.endswith(("=~", "!~"))
