"""Türkiye's 81 provinces (il) with their plate codes and their 973 districts (ilçe), shipped with kgys.

The list lives in ``kgys/sites/data/tr_jurisdictions.json``. It lets a province's school list be imported
without typing its districts in first: a row naming ``Çankaya`` (and perhaps ``Ankara``) that matches no
registered jurisdiction is looked up here, and the import creates the province and district it names.

Codes of the jurisdictions made from this list: a province is ``TR-`` and its two-digit plate code
(``TR-06``, the ISO 3166-2:TR code); a district is the province's code, ``-`` and its name in capital
ASCII letters (``TR-06-CANKAYA``, ``TR-02-MERKEZ``). Everything here is pure: no database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from kgys.sites.import_columns import fold

COUNTRY_CODE = "TR"
COUNTRY_NAME = "Türkiye"


@dataclass(frozen=True)
class Province:
    """A province of the list: plate code, name and its districts' names."""

    plate: int
    name: str
    districts: tuple[str, ...]

    @property
    def code(self) -> str:
        """The jurisdiction code, ``TR-06``."""
        return f"{COUNTRY_CODE}-{self.plate:02d}"

    def district_code(self, district: str) -> str:
        """The jurisdiction code of one of its districts, ``TR-06-CANKAYA``."""
        return f"{self.code}-{fold(district).replace('_', '').upper()}"

    def district(self, text: str) -> str | None:
        """The district's name as listed, for a name written any way (``ÇANKAYA``, ``cankaya``); or None."""
        wanted = fold(text)
        return next((d for d in self.districts if fold(d) == wanted), None)


@cache
def provinces() -> tuple[Province, ...]:
    """Every province in plate-code order."""
    raw = resources.files("kgys.sites").joinpath("data/tr_jurisdictions.json").read_text("utf-8")
    return tuple(Province(plate=int(p["plate"]), name=str(p["name"]), districts=tuple(p["districts"]))
                 for p in json.loads(raw)["provinces"])


def province(text: str) -> Province | None:
    """The province a cell means: a plate code (``6``, ``06``, ``TR-06``) or a name (``ANKARA``); or None."""
    text = text.strip()
    plate = re.fullmatch(r"(?:TR-?)?0*(\d{1,2})", text, flags=re.IGNORECASE)
    if plate is not None:
        number = int(plate.group(1))
        return next((p for p in provinces() if p.plate == number), None)
    wanted = fold(text.removesuffix(" İli").removesuffix(" ili"))
    return next((p for p in provinces() if fold(p.name) == wanted), None)


def provinces_with_district(text: str) -> list[Province]:
    """The provinces that have a district of this name (``Merkez`` is in 51 of them, ``Kadıköy`` in one)."""
    return [p for p in provinces() if p.district(text) is not None]


@cache
def names_by_code() -> dict[str, str]:
    """The name of every province and district of the list by its jurisdiction code."""
    out = {COUNTRY_CODE: COUNTRY_NAME}
    for p in provinces():
        out[p.code] = p.name
        out.update((p.district_code(d), d) for d in p.districts)
    return out
