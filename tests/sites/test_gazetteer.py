"""Türkiye's provinces and districts shipped with kgys: complete, spelled right, and found however written."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

from kgys.sites import gazetteer


def test_81_provinces_with_plate_codes_1_to_81_each_with_districts() -> None:
    provinces = gazetteer.provinces()
    assert [p.plate for p in provinces] == list(range(1, 82))
    assert all(p.districts for p in provinces)
    assert len({p.name for p in provinces}) == 81
    assert sum(len(p.districts) for p in provinces) == 973
    for p in provinces:
        assert len(set(p.districts)) == len(p.districts), p.name
        assert len({p.district_code(d) for d in p.districts}) == len(p.districts), p.name


def test_metropolitan_provinces_have_no_central_district() -> None:
    with_merkez = gazetteer.provinces_with_district("Merkez")
    assert len(with_merkez) == 51
    assert not {"Ankara", "İstanbul", "İzmir", "Eskişehir", "Mersin"} & {p.name for p in with_merkez}


@pytest.mark.parametrize(("plate", "province", "district"), [
    (6, "Ankara", "Çankaya"),
    (6, "Ankara", "Kahramankazan"),
    (34, "İstanbul", "Kadıköy"),
    (34, "İstanbul", "Eyüpsultan"),
    (35, "İzmir", "Bornova"),
    (26, "Eskişehir", "Odunpazarı"),
    (1, "Adana", "Seyhan"),
    (21, "Diyarbakır", "Sur"),
    (61, "Trabzon", "Ortahisar"),
    (81, "Düzce", "Merkez"),
    (30, "Hakkari", "Derecik"),
    (76, "Iğdır", "Tuzluca"),
])
def test_spot_checks(plate: int, province: str, district: str) -> None:
    found = gazetteer.province(str(plate))
    assert found is not None
    assert found.name == province
    assert district in found.districts


@pytest.mark.parametrize(("text", "plate"), [
    ("06", 6), ("6", 6), ("TR-06", 6), ("tr06", 6), ("ANKARA", 6), ("ankara", 6), ("İSTANBUL", 34),
    ("istanbul", 34), ("IĞDIR", 76), ("Igdir", 76), ("ISPARTA", 32), ("Isparta", 32), ("Afyon Karahisar", None),
    ("Afyonkarahisar", 3), ("KAHRAMANMARAŞ", 46), ("82", None), ("0", None), ("Deneme İli", None), ("", None),
])
def test_province_is_found_by_plate_or_name(text: str, plate: int | None) -> None:
    found = gazetteer.province(text)
    assert (found.plate if found else None) == plate


def test_district_names_and_codes() -> None:
    ankara = gazetteer.province("Ankara")
    assert ankara is not None
    assert (ankara.code, ankara.district("ÇANKAYA"), ankara.district("cankaya")) == ("TR-06", "Çankaya", "Çankaya")
    assert ankara.district_code("Çankaya") == "TR-06-CANKAYA"
    assert ankara.district_code("Şereflikoçhisar") == "TR-06-SEREFLIKOCHISAR"
    assert ankara.district("Kadıköy") is None
    assert [p.name for p in gazetteer.provinces_with_district("KADIKÖY")] == ["İstanbul"]
    assert {p.name for p in gazetteer.provinces_with_district("Yenişehir")} == {"Bursa", "Diyarbakır", "Mersin"}
    longest = max((p.district_code(d) for p in gazetteer.provinces() for d in p.districts), key=len)
    assert len(longest) <= 32  # a jurisdiction code's limit


def test_the_list_ships_in_the_package() -> None:
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["kgys"]
    data = root / "src" / "kgys" / "sites" / "data" / "tr_jurisdictions.json"
    assert data.is_file()
    assert any(fnmatch.fnmatch("sites/data/tr_jurisdictions.json", p) for p in patterns)
