"""Every UI text has a Turkish and a Russian translation, with the same placeholders as the English original."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po

import kgys
from kgys.web import i18n

PACKAGE = Path(kgys.__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdrf]")

Message = str | tuple[str, ...]


def _template_messages() -> Iterator[tuple[str, int, Message]]:
    for path in sorted(TEMPLATES.rglob("*.html")):
        with path.open("rb") as fh:
            for lineno, message, _comments, _context in extract(
                "jinja2.ext:babel_extract", fh, keywords=KEYWORDS, options={"extensions": "jinja2.ext.i18n"}
            ):
                yield str(path.relative_to(PACKAGE)), lineno, message


def _python_messages() -> Iterator[tuple[str, int, Message]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        with path.open("rb") as fh:
            for lineno, message, _comments, _context in extract("python", fh, keywords=KEYWORDS):
                yield str(path.relative_to(PACKAGE)), lineno, message


def used_messages() -> dict[str, list[str]]:
    """Every msgid in templates and Python sources (plural forms each count), with where it is used."""
    found: dict[str, list[str]] = {}
    for where, lineno, message in [*_template_messages(), *_python_messages()]:
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                found.setdefault(msgid, []).append(f"{where}:{lineno}")
    return found


def catalogue(lang: str) -> Catalog:
    """The .po catalogue of ``lang``."""
    path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def _translations(cat: Catalog) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for m in cat:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple) else (m.string,)
        for msgid in ids:
            out[msgid] = tuple(s or "" for s in strs)
    return out


def test_messages_are_found() -> None:
    found = used_messages()
    assert "Sites" in found and "Sign in" in found  # a template and a Python source
    assert "%(n)s cameras below 2 MP: %(names)s. Replace them." in found


@pytest.mark.parametrize("lang", ["tr", "ru"])
def test_every_message_is_translated(lang: str) -> None:
    translations = _translations(catalogue(lang))
    missing = {msgid: where[0] for msgid, where in used_messages().items()
               if not all(s.strip() for s in translations.get(msgid, ("",)))}
    assert not missing, f"{len(missing)} message(s) without a {lang} translation: {missing}"


@pytest.mark.parametrize("lang", ["tr", "ru", "en"])
def test_placeholders_match(lang: str) -> None:
    wrong = {}
    for m in catalogue(lang):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = [s for s in (m.string if isinstance(m.string, tuple) else (m.string,)) if s]
        want = set(PLACEHOLDER.findall(ids[0]))
        for s in strs:
            if set(PLACEHOLDER.findall(s)) - (want | {"num"}) or (not isinstance(m.id, tuple) and
                                                                  set(PLACEHOLDER.findall(s)) != want):
                wrong[ids[0]] = s
                continue
            try:
                s % dict.fromkeys(want | {"num"}, "x")  # a stray % would break the page
            except (ValueError, TypeError, KeyError) as exc:
                wrong[ids[0]] = f"{s} ({exc})"
    assert not wrong, f"placeholders differ in {lang}: {wrong}"


def test_catalogues_load() -> None:
    loaded = i18n.load_catalogues()
    assert loaded["tr"].gettext("Sites") != "Sites"
    assert loaded["ru"].gettext("Sites") != "Sites"
    assert loaded["en"].gettext("Sites") == "Sites"
