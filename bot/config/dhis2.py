"""The DHIS2 mapping (``[dhis2]``): where each figure goes in a national DHIS2.

Owned by the digest's exports (``nfpbot export --format dhis2``): ``data_elements`` maps number
question keys to data element uids, ``org_units`` ISO3 codes to organisation unit uids; a
figure or country without a mapping is left out of the file rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config.reader import Table, frozen_map, text_field
from bot.config.regions import SECTION as REGIONS
from bot.config.section import Context, Section

__all__ = ["SECTION", "Dhis2"]

#: A DHIS2 uid: a letter and ten letters or digits.
UID_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{10}")


@dataclass(frozen=True)
class Dhis2:
    data_elements: Mapping[str, str] = text_field(optional=True)
    org_units: Mapping[str, str] = text_field(optional=True)
    data_set: str | None = None


def parse_dhis2(root: Table, context: Context) -> Dhis2:
    """The mapping: uids well formed, keys naming number questions and countries."""
    regions = context.get(REGIONS)
    table = root.get_table("dhis2", ("data_elements", "org_units", "data_set"))
    numbers = {q.key for r in regions for q in r.questionnaire.questions if q.type == "number"}
    countries = {c.iso3 for r in regions for c in r.countries}
    maps: list[Mapping[str, str]] = []
    for name, known, what in (
        ("data_elements", numbers, "a number question"),
        ("org_units", countries, "a configured country"),
    ):
        value = table.get_mapping(name)
        for key, uid in value.items():
            if key not in known:
                table.fail(f"{name}.{key}", f"is not {what}")
            if not isinstance(uid, str) or not UID_RE.fullmatch(uid):
                table.fail(
                    f"{name}.{key}", f"expected a DHIS2 uid (11 letters/digits), got {uid!r}"
                )
        maps.append(frozen_map(value))
    data_set = table.get_str("data_set", default=None)
    if data_set is not None and not UID_RE.fullmatch(data_set):
        table.fail("data_set", f"expected a DHIS2 uid (11 letters/digits), got {data_set!r}")
    return Dhis2(data_elements=maps[0], org_units=maps[1], data_set=data_set)


SECTION = Section("dhis2", parse_dhis2)
