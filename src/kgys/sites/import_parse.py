"""Reading site lists and camera inventories from CSV and XLSX files. Pure functions, no database.

A file holds one kind of record, told apart by its header row (or named by the caller):

- ``sites``: code, name, type, province, district, address, latitude, longitude, student_count, priority,
  contact_name, contact_phone, contact_email, rollout_status
- ``recorders``: site_code, name, vendor, model, channels, supported_storage_tb, installed_storage_tb,
  remote_viewing, continuous_recording, retention_days, host
- ``cameras``: site_code, name, recorder, megapixels, width, height, poe, night_vision, position,
  bitrate_kbps, codec, stream_url

Header names are matched without regard to case, spaces, punctuation or accents, in English or Turkish
(``Kurum Kodu``, ``İlçe``, ``Öncelik`` …). Yes/no cells accept yes/no, true/false, 1/0, evet/hayır and
var/yok; site types, roll-out steps and camera positions accept their English values and Turkish words.
Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from kgys.errors import FieldError, ValidationFailed

MAX_ROWS = 50_000
MAX_ERRORS = 200  # listed in a failure
_KEPT_ERRORS = 20_000  # kept to choose the listed ones from
KINDS = ("sites", "recorders", "cameras")
FILE = "file"  # the field name of errors about the file as a whole

COLUMNS: dict[str, tuple[str, ...]] = {
    "sites": ("code", "name", "type", "province", "district", "address", "latitude", "longitude",
              "student_count", "priority", "contact_name", "contact_phone", "contact_email", "rollout_status"),
    "recorders": ("site_code", "name", "vendor", "model", "channels", "supported_storage_tb",
                  "installed_storage_tb", "remote_viewing", "continuous_recording", "retention_days", "host"),
    "cameras": ("site_code", "name", "recorder", "megapixels", "width", "height", "poe", "night_vision",
                "position", "bitrate_kbps", "codec", "stream_url"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "sites": ("code", "name", "type", "district"),
    "recorders": ("site_code", "name", "channels", "supported_storage_tb", "installed_storage_tb"),
    "cameras": ("site_code", "name", "megapixels", "width", "height"),
}
KEYS: dict[str, tuple[str, ...]] = {"sites": ("code",), "recorders": ("site_code", "name"),
                                    "cameras": ("site_code", "name")}

_SITE_CODE = ("site_code", "site", "kurum_kodu", "okul_kodu", "kurum", "tesis_kodu")
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "sites": {
        "code": ("kod", "kodu", "kurum_kodu", "okul_kodu", "institution_code", "tesis_kodu"),
        "name": ("ad", "adi", "isim", "kurum_adi", "okul_adi", "tesis_adi"),
        "type": ("tur", "turu", "tip", "kurum_turu", "okul_turu", "site_type"),
        "province": ("il", "sehir", "il_kodu"),
        "district": ("ilce", "ilce_kodu"),
        "address": ("adres",),
        "latitude": ("lat", "enlem"),
        "longitude": ("lon", "lng", "long", "boylam"),
        "student_count": ("students", "ogrenci_sayisi", "ogrenci"),
        "priority": ("oncelik",),
        "contact_name": ("contact", "yetkili", "yetkili_adi", "sorumlu", "irtibat"),
        "contact_phone": ("phone", "telefon", "tel", "yetkili_telefon", "gsm"),
        "contact_email": ("email", "e_mail", "eposta", "e_posta", "mail", "yetkili_eposta"),
        "rollout_status": ("rollout", "status", "durum", "kurulum_durumu", "proje_durumu"),
    },
    "recorders": {
        "site_code": _SITE_CODE,
        "name": ("ad", "adi", "isim", "cihaz_adi", "kayit_cihazi", "nvr", "recorder"),
        "vendor": ("marka", "uretici", "brand", "manufacturer"),
        "model": ("modeli",),
        "channels": ("kanal", "kanal_sayisi", "channel_count"),
        "supported_storage_tb": ("desteklenen_depolama_tb", "desteklenen_kapasite_tb", "azami_depolama_tb",
                                 "max_storage_tb"),
        "installed_storage_tb": ("takili_depolama_tb", "kurulu_depolama_tb", "mevcut_depolama_tb", "disk_tb",
                                 "storage_tb"),
        "remote_viewing": ("uzaktan_izleme", "internetten_izleme", "internet_izleme"),
        "continuous_recording": ("surekli_kayit", "7_24_kayit", "kesintisiz_kayit"),
        "retention_days": ("saklama_suresi", "saklama_gun", "saklama_suresi_gun", "retention"),
        "host": ("ip", "ip_adresi", "adres", "address"),
    },
    "cameras": {
        "site_code": _SITE_CODE,
        "name": ("ad", "adi", "isim", "kamera_adi", "camera"),
        "recorder": ("kayit_cihazi", "nvr", "recorder_name"),
        "megapixels": ("mp", "megapiksel", "megapixel"),
        "width": ("genislik",),
        "height": ("yukseklik",),
        "poe": (),
        "night_vision": ("gece_gorusu", "ir", "infrared", "kizilotesi"),
        "position": ("konum", "yer", "location"),
        "bitrate_kbps": ("bitrate", "bit_hizi", "bit_hizi_kbps"),
        "codec": ("kodek", "sikistirma"),
        "stream_url": ("url", "rtsp", "rtsp_url", "yayin_adresi", "akis_adresi"),
    },
}

BOOL_FIELDS = frozenset({"remote_viewing", "continuous_recording", "poe", "night_vision"})
DECIMAL_FIELDS = frozenset({"latitude", "longitude", "supported_storage_tb", "installed_storage_tb", "megapixels"})
INT_FIELDS = frozenset({"student_count", "priority", "channels", "retention_days", "width", "height",
                        "bitrate_kbps"})

_TRUE = frozenset({"yes", "y", "true", "t", "1", "evet", "e", "var", "on", "x"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "hayir", "h", "yok", "off"})

SITE_TYPES: dict[str, str] = {
    "kindergarten": "kindergarten", "anaokulu": "kindergarten", "ana_okulu": "kindergarten",
    "anasinifi": "kindergarten", "kres": "kindergarten", "okul_oncesi": "kindergarten",
    "primary_school": "primary_school", "ilkokul": "primary_school", "ilk_okul": "primary_school",
    "ilkogretim": "primary_school",
    "middle_school": "middle_school", "ortaokul": "middle_school", "orta_okul": "middle_school",
    "imam_hatip_ortaokulu": "middle_school",
    "high_school": "high_school", "lise": "high_school",
    "college": "college", "kolej": "college", "meslek_yuksekokulu": "college", "myo": "college",
    "universite": "college",
    "municipal_point": "municipal_point", "kent_noktasi": "municipal_point", "belediye": "municipal_point",
    "belediye_noktasi": "municipal_point", "mobese": "municipal_point", "cadde": "municipal_point",
    "other": "other", "diger": "other",
}
ROLLOUT: dict[str, str] = {
    "none": "none", "yok": "none", "baslanmadi": "none", "hic": "none",
    "planned": "planned", "planlandi": "planned", "planli": "planned", "planlanan": "planned",
    "tendered": "tendered", "ihale": "tendered", "ihalede": "tendered", "ihale_edildi": "tendered",
    "ihaleye_cikildi": "tendered",
    "contracted": "contracted", "sozlesme": "contracted", "sozlesmeli": "contracted",
    "sozlesme_imzalandi": "contracted",
    "installed": "installed", "kuruldu": "installed", "kurulum_tamam": "installed", "kurulu": "installed",
    "integrated": "integrated", "entegre": "integrated", "entegre_edildi": "integrated", "baglandi": "integrated",
    "verified": "verified", "dogrulandi": "verified", "onaylandi": "verified", "kabul_edildi": "verified",
}
POSITIONS: dict[str, str] = {
    "entrance": "entrance", "giris": "entrance", "kapi": "entrance", "okul_girisi": "entrance",
    "street_front": "street_front", "on_cephe": "street_front", "cadde_cephesi": "street_front",
    "sokak": "street_front", "cadde": "street_front",
    "perimeter": "perimeter", "cevre": "perimeter", "cevre_guvenligi": "perimeter",
    "yard": "yard", "bahce": "yard", "avlu": "yard",
    "corridor": "corridor", "koridor": "corridor",
    "parking": "parking", "otopark": "parking",
    "other": "other", "diger": "other",
}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_FOLD = str.maketrans({"ı": "i", "İ": "i", "ß": "ss"})


def fold(text: str) -> str:
    """``text`` lower-cased, without accents or Turkish letters, words joined by ``_``."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD).lower().translate(_FOLD))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


@dataclass(frozen=True)
class Row:
    """One data row: its number in the file and its cells by canonical column."""

    number: int
    values: dict[str, str]


@dataclass
class ParsedFile:
    """A file read and its header understood; cells converted, problems listed."""

    kind: str
    headers: dict[str, str]  # canonical column → header as written in the file
    rows: list[Row]
    errors: list[FieldError] = field(default_factory=list)
    bad_cells: dict[int, set[str]] = field(default_factory=dict)  # row → canonical columns at fault
    error_count: int = 0
    header_ok: bool = True

    def column(self, name: str) -> str:
        """The header text the file uses for column ``name``."""
        return self.headers.get(name, name)

    def add_error(self, row: int | None, column: str, message: str, value: str | None = None) -> None:
        """Record a problem of a row (or of the file when ``row`` is None) in a column."""
        self.error_count += 1
        if row is not None:
            self.bad_cells.setdefault(row, set()).add(column)
        if len(self.errors) < _KEPT_ERRORS:
            self.errors.append(FieldError(field=self.column(column), row=row, message=message,
                                          value=None if value is None else value[:100]))

    def failure(self) -> ValidationFailed:
        """The error an import of this file raises: the first problems in row and column order."""
        order = {text: i for i, text in enumerate(self.headers.values())}
        ranked = sorted(self.errors, key=lambda e: (e.row or 0, order.get(e.field, -1)))
        return too_many_errors(ranked[:MAX_ERRORS], self.error_count)


def file_error(message: str, row: int | None = None, column: str = FILE) -> ValidationFailed:
    """A problem with the file as a whole."""
    exc = ValidationFailed([FieldError(field=column, row=row, message=message)])
    exc.message = message
    return exc


def too_many_errors(errors: list[FieldError], total: int) -> ValidationFailed:
    """The failure of an import that found ``total`` problems (the first ``errors`` listed)."""
    exc = ValidationFailed(errors)
    listed = f" (the first {len(errors)} are listed)" if total > len(errors) else ""
    exc.message = f"{total} problem(s) in the file{listed}; nothing was imported"
    exc.params = {"total": total}
    return exc


# ---------------------------------------------------------------- reading cells


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        raise file_error(
            f"the file is not UTF-8 text: line {line}, byte {exc.start - line_start + 1} of the line "
            f"(byte {exc.start} of the file, 0x{data[exc.start]:02X}) cannot be read. In Excel or LibreOffice "
            "use 'Save as' → 'CSV UTF-8 (comma delimited)' and upload that file", row=line) from exc
    return text.removeprefix("\ufeff")


def _delimiter(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=False)
    number = 0
    try:
        for cells in reader:
            number += 1
            yield number, [c.strip() for c in cells]
    except csv.Error as exc:
        raise file_error(f"line {reader.line_num}: the CSV cannot be read ({exc})", row=number + 1) from exc


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise file_error("the file is not a valid XLSX workbook; open it in Excel or LibreOffice and save it "
                         "again as .xlsx, or as 'CSV UTF-8'") from exc
    try:
        if not wb.worksheets:
            raise file_error("the workbook has no sheet")
        sheet = wb.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(c) for c in cells]
    except ValidationFailed:
        raise
    except Exception as exc:
        raise file_error("the XLSX workbook is damaged and cannot be read to the end") from exc
    finally:
        wb.close()


def _is_xlsx(data: bytes, filename: str) -> bool:
    name = filename.lower()
    if name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise file_error("old Excel (.xls) files are not read; save the sheet as .xlsx or as 'CSV UTF-8'")
    if name.endswith((".xlsx", ".xlsm")):
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise file_error("the file is named .xlsx but is not a valid XLSX workbook; save it again from "
                             "Excel or LibreOffice")
        return True
    return data.startswith(b"PK\x03\x04")


def read_rows(data: bytes, filename: str = "") -> Iterator[tuple[int, list[str]]]:
    """Every row of a CSV or XLSX file as (row number, stripped cell texts)."""
    if not data or not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise file_error("the file is empty")
    return _xlsx_rows(data) if _is_xlsx(data, filename) else _csv_rows(data)


# ---------------------------------------------------------------- the header


def _lookup(kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for col in COLUMNS[kind]:
        table[col] = col
        for alias in ALIASES[kind].get(col, ()):
            table[alias] = col
    return table


def detect_kind(header: list[str]) -> str:
    """The kind of file a header row belongs to; ValidationFailed when it fits none."""
    folded = [fold(h) for h in header if h.strip()]
    best: tuple[int, int, int, str] | None = None
    for order, kind in enumerate(KINDS):
        table = _lookup(kind)
        known = {table[h] for h in folded if h in table}
        unknown = sum(1 for h in folded if h not in table)
        complete = all(r in known for r in REQUIRED[kind])
        score = (int(complete), len(known) - unknown, -order, kind)
        if best is None or score > best:
            best = score
    assert best is not None
    if best[1] <= 0 and not best[0]:
        raise file_error("cannot tell from the header row whether this is a list of sites, recorders or "
                         "cameras; check that row 1 holds the column names, or choose the kind", row=1)
    return best[3]


def _header(kind: str, cells: list[str], parsed: ParsedFile) -> list[str | None]:
    table = _lookup(kind)
    columns: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for text in cells:
        if not text:
            columns.append(None)
            continue
        col = table.get(fold(text))
        if col is None:
            unknown.append(text)
            columns.append(None)
        elif col in seen:
            parsed.add_error(1, col, f"columns '{seen[col]}' and '{text}' both mean '{col}'; keep one")
            columns.append(None)
        else:
            seen[col] = text
            columns.append(col)
    parsed.headers = dict(seen)
    if unknown:
        parsed.add_error(1, FILE, f"unknown column(s): {', '.join(repr(u) for u in unknown)}; a {kind} file "
                                  f"has the columns {', '.join(COLUMNS[kind])}")
    missing = [r for r in REQUIRED[kind] if r not in seen]
    if missing:
        parsed.add_error(1, FILE, f"missing required column(s): {', '.join(missing)}")
    return columns


# ---------------------------------------------------------------- cells


def _choice(value: str, table: dict[str, str]) -> str | None:
    key = fold(value)
    if key in table:
        return table[key]
    if table is SITE_TYPES:
        for suffix, kind in (("lisesi", "high_school"), ("ortaokulu", "middle_school"),
                             ("ilkokulu", "primary_school"), ("anaokulu", "kindergarten"),
                             ("koleji", "college")):
            if key.endswith(suffix):
                return kind
    return None


def convert(column: str, value: str) -> tuple[Any, str | None]:
    """A cell's value in the form the schema expects, or the reason it cannot be understood."""
    if column in BOOL_FIELDS:
        key = fold(value)
        if key in _TRUE:
            return True, None
        if key in _FALSE:
            return False, None
        return None, f"'{value}' is not yes or no (use yes/no, evet/hayır, var/yok, true/false or 1/0)"
    if column == "type":
        kind = _choice(value, SITE_TYPES)
        if kind is None:
            return None, (f"unknown site type '{value}'; use ilkokul, ortaokul, lise, anaokulu, kolej, "
                          "kent noktası, diğer or kindergarten, primary_school, middle_school, high_school, "
                          "college, municipal_point, other")
        return kind, None
    if column == "rollout_status":
        step = _choice(value, ROLLOUT)
        if step is None:
            return None, (f"unknown roll-out step '{value}'; use none, planned, tendered, contracted, installed, "
                          "integrated, verified (or yok, planlandı, ihalede, sözleşme, kuruldu, entegre, "
                          "doğrulandı)")
        return step, None
    if column == "position":
        pos = _choice(value, POSITIONS)
        if pos is None:
            return None, (f"unknown camera position '{value}'; use entrance, street_front, perimeter, yard, "
                          "corridor, parking, other (or giriş, ön cephe, çevre, bahçe, koridor, otopark, diğer)")
        return pos, None
    if column == "codec":
        return value.lower().replace(".", "").replace("-", "").replace(" ", ""), None
    if column in DECIMAL_FIELDS and _DECIMAL_COMMA.match(value):
        return value.replace(",", "."), None
    if column in INT_FIELDS and re.fullmatch(r"[+-]?\d+\.0+", value):
        return value.split(".")[0], None
    return value, None


# ---------------------------------------------------------------- the whole file


def parse(data: bytes, filename: str = "", kind: str | None = None, max_rows: int = MAX_ROWS) -> ParsedFile:
    """Read a file: header, kind, converted cells and every problem found without a database.

    Problems with the file as a whole (unreadable, empty, no data rows, too many rows) raise
    ValidationFailed at once; problems of single rows and columns are listed in ``errors``.
    """
    if kind is not None and kind not in KINDS:
        raise file_error(f"unknown kind '{kind}'; use one of {', '.join(KINDS)}", column="kind")
    rows = read_rows(data, filename)
    header: list[str] | None = None
    header_number = 0
    for number, cells in rows:
        if any(cells):
            header, header_number = cells, number
            break
    if header is None:
        raise file_error("the file is empty")
    parsed = ParsedFile(kind=kind or detect_kind(header), headers={}, rows=[])
    columns = _header(parsed.kind, header, parsed)
    parsed.header_ok = not parsed.errors
    keys: dict[tuple[str, ...], int] = {}
    for number, cells in rows:
        if not any(cells):
            continue
        if len(parsed.rows) >= max_rows:
            raise file_error(f"the file has more than {max_rows:,} data rows; split it into smaller files",
                             row=number)
        if not parsed.header_ok:
            parsed.rows.append(Row(number, {}))
            continue
        extra = [c for c in cells[len(columns):] if c]
        if extra:
            parsed.add_error(number, FILE, f"the row has {len(cells)} cells but the header has {len(columns)} "
                                           "columns (a stray delimiter or an unquoted comma?)")
        values: dict[str, str] = {}
        for position, (col, text) in enumerate(zip(columns, cells, strict=False), start=1):
            if col is None:
                if text:
                    parsed.add_error(number, FILE, f"cell {position} has a value but its column has no name in "
                                                   "the header row", value=text)
                continue
            if text == "":
                values[col] = ""
                continue
            converted, problem = convert(col, text)
            if problem:
                parsed.add_error(number, col, problem, value=text)
            else:
                values[col] = ("true" if converted else "false") if isinstance(converted, bool) else str(converted)
        key = tuple(values.get(k, "") for k in KEYS[parsed.kind])
        if all(key):
            if key in keys:
                what = " / ".join(key)
                parsed.add_error(number, KEYS[parsed.kind][-1],
                                 f"'{what}' appears twice in the file: rows {keys[key]} and {number}")
            else:
                keys[key] = number
        parsed.rows.append(Row(number, values))
    if header_number and not parsed.rows:
        raise file_error("the file has a header row but no data rows", row=header_number)
    return parsed
