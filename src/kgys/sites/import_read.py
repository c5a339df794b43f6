"""Reading the rows of an import file: CSV in any encoding Turkish offices save, or XLSX. Pure functions.

The encoding of a CSV file is decided from its bytes alone, in this order, so the same file always reads
the same way:

1. a byte-order mark: ``FF FE`` / ``FE FF`` is UTF-16 (Excel's "Unicode text", tab separated), ``EF BB BF``
   UTF-8 with BOM (Excel's "CSV UTF-8");
2. no mark but a NUL in every other byte of the start: UTF-16 without a mark (little or big endian);
3. bytes that are valid UTF-8: UTF-8 — text in a single-byte code page almost never is, because its
   Turkish letters (``ı`` = ``FD``, ``ş`` = ``FE`` …) are not followed by the continuation bytes UTF-8
   needs;
4. otherwise a Turkish single-byte code page. Windows-1254 (what Excel writes on Turkish Windows) and
   ISO-8859-9 (Latin-5, older Unix and web exports) agree on every byte from ``A0`` to ``FF`` — all the
   Turkish letters — and differ only in ``80``–``9F``: printable in Windows-1254 (``€ … ‘ ’ “ ” – — Š š
   Ÿ``), invisible C1 controls in ISO-8859-9 that no real text holds. So a file with any byte in that
   range is Windows-1254; a file without one reads *identically* in both, and is reported as ISO-8859-9,
   the narrower of the two (nothing is lost whichever it really was).

   Except: a file that is *almost* UTF-8 — it holds UTF-8 Turkish letters (``ü`` = ``C3 BC``, ``ş`` =
   ``C5 9F`` …: a byte ``C3``–``C5`` and a continuation byte, which in the code pages would be ``Ã``,
   ``Ä`` or ``Å`` and a symbol, never seen in Turkish text) but also a byte UTF-8 cannot read — was
   damaged or pasted together, and is refused naming that byte instead of being read as mojibake.

The delimiter is the one of ``;``, ``,`` and tab that occurs most often, outside quotes, in the first
non-empty line (the header row).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from kgys.errors import ValidationFailed
from kgys.sites.import_messages import _, file_error

UTF8, UTF8_BOM, UTF16, CP1254, ISO_8859_9 = "utf-8", "utf-8-sig", "utf-16", "windows-1254", "iso-8859-9"
ENCODING_NAMES = {UTF8: "UTF-8", UTF8_BOM: "UTF-8 (BOM)", UTF16: "UTF-16", CP1254: "Windows-1254",
                  ISO_8859_9: "ISO-8859-9", "xlsx": "XLSX"}
DELIMITER_NAMES = {",": ",", ";": ";", "\t": "tab"}

Rows = Iterator[tuple[int, list[str]]]
_UTF8_TURKISH = re.compile(rb"[\xc3-\xc5][\x80-\xbf]")


@dataclass(frozen=True)
class Source:
    """A file's rows and how they were read: its encoding (``xlsx`` for a workbook) and CSV delimiter."""

    rows: Rows
    encoding: str
    delimiter: str = ""


def detect_encoding(data: bytes) -> str:
    """The encoding a CSV file is written in (see the module's docstring for how it is told)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return UTF16
    if data.startswith(b"\xef\xbb\xbf"):
        return UTF8_BOM
    head = data[:2000]
    if len(head) >= 4 and (head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4):
        return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
    try:
        data.decode(UTF8)
    except UnicodeDecodeError:
        if _UTF8_TURKISH.search(data):
            return UTF8  # damaged UTF-8: decoding it names the bad byte
        return CP1254 if any(0x80 <= b <= 0x9F for b in data) else ISO_8859_9
    return UTF8


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and its encoding; ValidationFailed naming the place when it cannot be read."""
    encoding = detect_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        raise file_error(_(
            "the file cannot be read as %(encoding)s text: line %(line)s, byte %(byte)s of the line (0x%(hex)s). "
            "Save it again as 'CSV UTF-8' and upload that file",
            encoding=ENCODING_NAMES.get(encoding, encoding), line=line, byte=exc.start - line_start + 1,
            hex=f"{data[exc.start]:02X}"), row=line) from exc
    return text.removeprefix("\ufeff"), UTF16 if encoding.startswith("utf-16") else encoding


def detect_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the commonest of ``;``, ``,`` and tab outside quotes in its first line."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    unquoted = "".join(part for i, part in enumerate(first.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def cell_text(value: Any) -> str:
    """A workbook cell as text: dates ISO, whole floats without ``.0``, booleans true/false."""
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


def _csv_rows(text: str, delimiter: str) -> Rows:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    number = 0
    try:
        for cells in reader:
            number += 1
            yield number, [c.strip() for c in cells]
    except csv.Error as exc:
        raise file_error(_("line %(line)s: the CSV cannot be read (%(reason)s)", line=reader.line_num,
                                    reason=str(exc)), row=number + 1) from exc


def _xlsx_rows(data: bytes) -> Rows:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise file_error(_("the file is not a valid XLSX workbook; open it in Excel or LibreOffice and "
                                    "save it again as .xlsx, or as 'CSV UTF-8'")) from exc
    try:
        if not wb.worksheets:
            raise file_error(_("the workbook has no sheet"))
        sheet = wb.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [cell_text(c) for c in cells]
    except ValidationFailed:
        raise
    except Exception as exc:
        raise file_error(_("the XLSX workbook is damaged and cannot be read to the end")) from exc
    finally:
        wb.close()


def _is_xlsx(data: bytes, filename: str) -> bool:
    name = filename.lower()
    if name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise file_error(_("old Excel (.xls) files are not read; save the sheet as .xlsx or as "
                                    "'CSV UTF-8'"))
    if name.endswith((".xlsx", ".xlsm")):
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise file_error(_("the file is named .xlsx but is not a valid XLSX workbook; save it again "
                                        "from Excel or LibreOffice"))
        return True
    return data.startswith(b"PK\x03\x04")


def read_rows(data: bytes, filename: str = "") -> Source:
    """Every row of a CSV or XLSX file as (row number, stripped cell texts), with the encoding found."""
    if not data or not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise file_error(_("the file is empty"))
    if _is_xlsx(data, filename):
        return Source(_xlsx_rows(data), "xlsx")
    text, encoding = decode(data)
    delimiter = detect_delimiter(text)
    return Source(_csv_rows(text, delimiter), encoding, delimiter)
