"""Telling a file's encoding and delimiter, and reading cells as Turkish offices write them. Pure functions."""

from __future__ import annotations

import pytest

from kgys.errors import ValidationFailed
from kgys.sites.import_parse import convert, parse
from kgys.sites.import_read import decode, detect_delimiter, detect_encoding

TURKISH = "Kurum Adı;İlçe\nŞehit Öğretmen Çağlar Işık İlkokulu;Güngören\n"


@pytest.mark.parametrize(("data", "encoding"), [
    (TURKISH.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + TURKISH.encode("utf-8"), "utf-8-sig"),
    (TURKISH.encode("utf-16"), "utf-16"),  # with its byte-order mark
    (TURKISH.encode("utf-16-be"), "utf-16-be"),
    (TURKISH.encode("utf-16-le"), "utf-16-le"),
    (TURKISH.encode("cp1254"), "iso-8859-9"),  # only Turkish letters: the same bytes in both code pages
    (TURKISH.encode("iso-8859-9"), "iso-8859-9"),
    ("Okul “Işık” – ‘Ana’ …\n".encode("cp1254"), "windows-1254"),  # quotes and dashes only Windows-1254 has
    (b"plain ascii,only\n", "utf-8"),
])
def test_detect_encoding(data: bytes, encoding: str) -> None:
    assert detect_encoding(data) == encoding
    text, _found = decode(data)
    assert text in (TURKISH, "Okul “Işık” – ‘Ana’ …\n", "plain ascii,only\n")


def test_damaged_utf8_names_the_byte() -> None:
    data = TURKISH.encode("utf-8") + "Işık;Merkez\n".encode("cp1254")  # UTF-8 letters, then a Windows-1254 line
    assert detect_encoding(data) == "utf-8"
    with pytest.raises(ValidationFailed) as info:
        decode(data)
    assert info.value.errors[0].row == 3
    assert "cannot be read as UTF-8 text: line 3, byte 2 of the line (0xFE)" in info.value.message


@pytest.mark.parametrize(("text", "delimiter"), [
    ("a;b;c\n1;2;3\n", ";"),
    ("a,b,c\n1,2,3\n", ","),
    ("a\tb\tc\n", "\t"),
    ('"Ad, Soyad";"İl";"İlçe"\n', ";"),  # commas inside quotes do not count
    ("\n\nKurum Kodu;Enlem;Boylam\n1;39,9;32,8\n", ";"),
    ("single\n", ","),
])
def test_detect_delimiter(text: str, delimiter: str) -> None:
    assert detect_delimiter(text) == delimiter


@pytest.mark.parametrize(("column", "value", "out"), [
    ("latitude", "39,9208", "39.9208"),
    ("longitude", "-32,8541", "-32.8541"),
    ("latitude", "39.9208", "39.9208"),
    ("megapixels", "2,1", "2.1"),
    ("student_count", "420.0", "420"),
    ("rollout_date", "31.01.2025", "2025-01-31"),
    ("rollout_date", "1.2.2025", "2025-02-01"),
    ("rollout_date", "05/03/2024", "2024-03-05"),
    ("rollout_date", "2024-03-05", "2024-03-05"),
    ("rollout_date", "2024-03-05T00:00:00", "2024-03-05"),
    ("type", "Mesleki ve Teknik Anadolu Lisesi", "high_school"),
    ("type", "İLKOKUL", "primary_school"),
    ("rollout_status", "PLANLANDI", "planned"),
    ("poe", "Evet", True),
    ("night_vision", "YOK", False),
])
def test_cells_that_are_understood(column: str, value: str, out: object) -> None:
    assert convert(column, value) == (out, None)


@pytest.mark.parametrize(("column", "value", "says"), [
    ("rollout_date", "31.02.2025", "not a date"),
    ("rollout_date", "yarın", "not a date"),
    ("name", "Okul\x00", "U+0000"),
    ("address", "Cd.\u202e1", "U+202E"),
    ("contact_name", "Ali\u2066", "U+2066"),
    ("poe", "belki", "not yes or no"),
])
def test_cells_that_are_refused(column: str, value: str, says: str) -> None:
    converted, problem = convert(column, value)
    assert converted is None and problem is not None
    assert says in problem.render()


@pytest.mark.parametrize(("header", "expected"), [
    ("Kurum Kodu;Kurum Adı;Kurum Türü;İl Adı;İlçe Adı", {"code", "name", "type", "province", "district"}),
    ("KURUM KODU;OKUL ADI;OKUL TÜRÜ;İL;İLÇE", {"code", "name", "type", "province", "district"}),
    ("kurum kodu;kurum adi;kurum turu;il;ilce", {"code", "name", "type", "province", "district"}),
    ("Kurum Kodu;Kurum Adı;Kurum Türü;ILCE;Açık Adres;Enlem;Boylam;Telefon;Kurum E-Posta;Okul Müdürü",
     {"code", "name", "type", "district", "address", "latitude", "longitude", "contact_phone", "contact_email",
      "contact_name"}),
    ("Kurum Kodu;Kurum Adı;Türü;İlçe;Öğrenci Sayısı;Durum;Durum Tarihi",
     {"code", "name", "type", "district", "student_count", "rollout_status", "rollout_date"}),
])
def test_turkish_headers(header: str, expected: set[str]) -> None:
    parsed = parse((header + "\n" + ";".join(["x"] * header.count(";")) + ";ilkokul\n").encode(), kind="sites")
    assert set(parsed.headers) == expected


def test_unknown_columns_are_a_warning_naming_them() -> None:
    parsed = parse("Kurum Kodu;Kurum Adı;Kurum Türü;İlçe;Kayıt Tarihi;Faks\n1;A;lise;B;01.09.1990;0\n".encode())
    assert parsed.errors == []
    assert [(w.row, w.field) for w in parsed.warnings] == [(1, "file")]
    assert "'Kayıt Tarihi', 'Faks'" in parsed.warnings[0].message
    assert parsed.rows[0].values == {"code": "1", "name": "A", "type": "high_school", "district": "B"}
