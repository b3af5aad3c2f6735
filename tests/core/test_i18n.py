"""The gettext catalogs: complete Russian, matching placeholders, up to date with the code."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.config import Config
from bot.core.i18n import translator

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"


def catalog(lang: str) -> Catalog:
    with open(LOCALES / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def extracted_ids() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for sub in ("bot", "handlers"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / sub, method_map=[("**.py", "python")]
        ):
            found.add(message if isinstance(message, str) else tuple(message[:2]))
    return found


def test_every_user_facing_string_is_in_the_catalogs() -> None:
    pot = {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog("ru") if m.id}
    missing = extracted_ids() - pot
    assert not missing, f"run pybabel extract/update (README): not in catalogs: {missing}"


def test_russian_is_complete_and_placeholders_match() -> None:
    problems = []
    for m in catalog("ru"):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = list(m.string) if isinstance(m.string, list | tuple) else [m.string or ""]
        if "fuzzy" in m.flags or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        expected = placeholders(ids[0])
        for s in strings:
            if placeholders(s) != expected:
                problems.append(f"placeholders differ: {ids[0]!r} -> {s!r}")
    assert not problems, "\n".join(problems)


def test_russian_has_three_plural_forms() -> None:
    cat = catalog("ru")
    assert cat.num_plurals == 3
    plural = [m for m in cat if m.id and not isinstance(m.id, str)]
    assert plural and all(isinstance(m.string, list | tuple) and len(m.string) == 3 for m in plural)
    tr = translator("ru")
    forms = [tr.ngettext("{n} week", "{n} weeks", n).format(n=n) for n in (1, 2, 5, 11, 21, 22)]
    assert forms == ["1 неделя", "2 недели", "5 недель", "11 недель", "21 неделя", "22 недели"]


def test_compiled_catalog_matches_the_po_file() -> None:
    """The .mo file the bot loads is compiled from the current .po file (English falls back
    to the msgids, so only Russian carries translations)."""
    lang = "ru"

    def table(messages: Iterable[Message]) -> dict[str | tuple[str, ...], str | tuple[str, ...]]:
        return {
            _key(m.id): _key(m.string)
            for m in messages
            if m.id and m.string and (isinstance(m.string, str) or all(m.string))
        }

    mo_path = LOCALES / lang / "LC_MESSAGES" / "messages.mo"
    with open(mo_path, "rb") as f:
        mo = table(read_mo(BytesIO(f.read())))
    assert mo == table(catalog(lang)), "run: pybabel compile -d locales"


def _key(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


def test_country_names_come_from_cldr_in_the_readers_language(config: Config) -> None:
    _, kaz = config.country("KAZ")
    _, mng = config.country("MNG")
    assert (kaz.name("ru"), kaz.name("en")) == ("Казахстан", "Kazakhstan")
    assert mng.name("ru") == "Монголия"


def test_numbers_and_dates_follow_the_readers_locale() -> None:
    from datetime import date

    assert translator("ru").number(1234567) == "1\u00a0234\u00a0567"
    assert translator("en").number(1234567) == "1,234,567"
    assert translator("ru").weekday(2) == "среда"
    assert re.match(r"25 нояб\.? 2026", translator("ru").date(date(2026, 11, 25)))
