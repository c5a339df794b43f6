"""School lists as Turkish offices export them: any encoding, Turkish headers, extra columns, decimal commas,
dd.mm.yyyy dates, and provinces and districts that are not registered yet."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kgys.accounts import service as account_service
from kgys.accounts.models import Jurisdiction
from kgys.cameras.flows import imports as camera_imports
from kgys.errors import ValidationFailed
from kgys.runtime import Runtime
from kgys.sites.import_messages import translated
from kgys.sites.import_summary import ImportSummary
from kgys.sites.models import RolloutEvent, Site
from kgys.web import i18n
from tests import factories

LETTERS = "ğüşıöçĞÜŞİÖÇ"
MEB = (
    "Kurum Kodu;Kurum Adı;Kurum Türü;İl Adı;İlçe Adı;Açık Adres;Enlem;Boylam;Kayıt Tarihi;Telefon\n"
    "700001;Şehit Öğretmen Çağlar Işık İlkokulu;İlkokul;ANKARA;ÇANKAYA;Güzeltepe Mah. Ağaçlı Sk. No:5;39,9208;"
    "32,8541;01.09.1998;0312 000 00 01\n"
    "700002;Gökçeöz Ortaokulu;Ortaokul;İstanbul;Kadıköy;Moda Cd. Ümit Sk. No:2;40,987;29,026;15.09.2003;\n"
    "700003;Bornova Anadolu Lisesi;Anadolu Lisesi;İzmir;Bornova;;38,4622;27,2163;;\n"
    f"700004;{LETTERS} Anaokulu;anaokulu;35;BORNOVA;İĞDE SK. ÇİÇEK APT.;;;;\n"
)
EXPECTED = {
    "700001": ("Şehit Öğretmen Çağlar Işık İlkokulu", "primary_school", "TR-06-CANKAYA",
               "Güzeltepe Mah. Ağaçlı Sk. No:5", 39.9208, 32.8541, "0312 000 00 01"),
    "700002": ("Gökçeöz Ortaokulu", "middle_school", "TR-34-KADIKOY", "Moda Cd. Ümit Sk. No:2", 40.987, 29.026, ""),
    "700003": ("Bornova Anadolu Lisesi", "high_school", "TR-35-BORNOVA", "", 38.4622, 27.2163, ""),
    "700004": (f"{LETTERS} Anaokulu", "kindergarten", "TR-35-BORNOVA", "İĞDE SK. ÇİÇEK APT.", None, None, ""),
}
CREATED = ["TR", "TR-06", "TR-06-CANKAYA", "TR-34", "TR-34-KADIKOY", "TR-35", "TR-35-BORNOVA"]


def run(session: Session, rt: Runtime, data: bytes, actor: Any = None, **kw: Any) -> ImportSummary:
    """Import ``data`` as ``actor`` (default a global administrator)."""
    return camera_imports.import_file(session=session, actor=actor or factories.admin(), box=rt.box, data=data, **kw)


def failure(session: Session, rt: Runtime, data: bytes, actor: Any = None, **kw: Any) -> ValidationFailed:
    """The ValidationFailed an import of ``data`` raises."""
    with pytest.raises(ValidationFailed) as info:
        run(session, rt, data, actor, **kw)
    return info.value


def registered(session: Session) -> dict[str, tuple[Any, ...]]:
    """Every site as (name, type, district, address, latitude, longitude, phone)."""
    return {s.code: (s.name, s.type, s.jurisdiction.code, s.address, s.latitude, s.longitude, s.contact_phone)
            for s in session.scalars(select(Site))}


def jurisdictions(session: Session) -> int:
    """How many jurisdiction nodes exist."""
    return session.scalar(select(func.count()).select_from(Jurisdiction)) or 0


@pytest.mark.parametrize(("data", "encoding", "delimiter"), [
    (MEB.encode("utf-8"), "utf-8", ";"),
    (b"\xef\xbb\xbf" + MEB.encode("utf-8"), "utf-8-sig", ";"),
    (MEB.encode("cp1254"), "iso-8859-9", ";"),  # Turkish letters only: the same bytes as ISO-8859-9
    (MEB.encode("iso-8859-9"), "iso-8859-9", ";"),
    (MEB.replace(";", "\t").encode("utf-16"), "utf-16", "\t"),  # Excel's "Unicode text"
], ids=["utf-8", "utf-8-bom", "windows-1254", "iso-8859-9", "utf-16-tab"])
def test_a_school_list_in_every_encoding_imports_the_same_rows(session: Session, rt: Runtime, data: bytes,
                                                                 encoding: str, delimiter: str) -> None:
    summary = run(session, rt, data, filename="okullar.csv")
    assert (summary.kind, summary.created, summary.encoding, summary.delimiter) == ("sites", 4, encoding, delimiter)
    assert [(w.row, w.field) for w in summary.warnings] == [(1, "file")]
    assert "'Kayıt Tarihi'" in summary.warnings[0].message
    assert sorted(summary.jurisdictions_created) == CREATED
    assert registered(session) == EXPECTED
    again = run(session, rt, MEB.encode("utf-8"), filename="okullar.csv")
    assert (again.created, again.updated, again.unchanged, again.jurisdictions_created) == (0, 0, 4, [])


def test_windows_1254_punctuation_is_read_and_named(session: Session, rt: Runtime) -> None:
    data = MEB.replace("Moda Cd. Ümit Sk. No:2", "“Moda” Cd. Ümit’in Sk. – No:2").encode("cp1254")
    summary = run(session, rt, data, filename="okullar.csv")
    assert summary.encoding == "windows-1254"
    site = session.scalar(select(Site).where(Site.code == "700002"))
    assert site is not None and site.address == "“Moda” Cd. Ümit’in Sk. – No:2"


def test_a_dry_run_registers_no_district(session: Session, rt: Runtime) -> None:
    summary = run(session, rt, MEB.encode(), dry_run=True)
    assert sorted(summary.jurisdictions_created) == CREATED
    assert summary.created == 4
    assert jurisdictions(session) == 0 and registered(session) == {}


def test_a_missing_district_joins_the_registered_province(session: Session, rt: Runtime) -> None:
    factories.tree(session)
    eskisehir = Jurisdiction(code="TR-26", name="Eskişehir", kind="province", path="/TR/TR-26/")
    session.add(eskisehir)
    session.flush()
    session.add(Jurisdiction(code="TR-26-ODU", name="Odunpazarı", kind="district", parent_id=eskisehir.id,
                             path="/TR/TR-26/TR-26-ODU/"))
    session.flush()
    before = jurisdictions(session)
    data = ("Kurum Kodu;Kurum Adı;Türü;İl;İlçe\n"
            "758123;Cumhuriyet İlkokulu;ilkokul;ESKİŞEHİR;odunpazarı\n"
            "758124;Gazi Ortaokulu;ortaokul;26;Tepebaşı\n"
            "758125;Sahil Lisesi;lise;;Sahil\n").encode()
    summary = run(session, rt, data)
    assert summary.jurisdictions_created == ["TR-26-TEPEBASI"]
    assert jurisdictions(session) == before + 1
    assert {code: row[2] for code, row in registered(session).items()} == {
        "758123": "TR-26-ODU", "758124": "TR-26-TEPEBASI", "758125": "TR-99-B"}
    node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "TR-26-TEPEBASI"))
    assert node is not None and (node.name, node.kind, node.path) == ("Tepebaşı", "district",
                                                                       "/TR/TR-26/TR-26-TEPEBASI/")


def test_a_district_name_in_several_provinces_needs_the_province(session: Session, rt: Runtime) -> None:
    exc = failure(session, rt, "Kurum Kodu;Kurum Adı;Türü;İlçe\n810001;Merkez İlkokulu;ilkokul;Merkez\n".encode())
    assert [(e.row, e.field) for e in exc.errors] == [(2, "İlçe")]
    assert "several provinces" in exc.errors[0].message and "add a province column" in exc.errors[0].message
    assert jurisdictions(session) == 0
    summary = run(session, rt, "Kurum Kodu;Kurum Adı;Türü;İl;İlçe\n810001;Merkez İlkokulu;ilkokul;DÜZCE;Merkez\n"
                  .encode())
    assert summary.jurisdictions_created == ["TR", "TR-81", "TR-81-MERKEZ"]


def test_without_jurisdiction_rights_unknown_districts_stay_errors(session: Session, rt: Runtime) -> None:
    factories.tree(session)
    member = account_service.actor_for(factories.user(session, "commission_member", scope=["TR-99"]))
    before = jurisdictions(session)
    data = "Kurum Kodu;Kurum Adı;Türü;İlçe\n700002;Gökçeöz Ortaokulu;ortaokul;Kadıköy\n".encode()
    exc = failure(session, rt, data, member)
    assert [(e.row, e.field) for e in exc.errors] == [(2, "İlçe")]
    assert "no district with code or name 'Kadıköy'" in exc.errors[0].message
    assert jurisdictions(session) == before


def test_control_characters_in_cells_are_refused_naming_the_column(session: Session, rt: Runtime) -> None:
    data = ("Kurum Kodu;Kurum Adı;Türü;İl;İlçe;Açık Adres;Yetkili\n"
            "700010;Okul\x00Adı;ilkokul;Ankara;Çankaya;;\n"
            "700011;İyi Okul;ilkokul;Ankara;Çankaya;Cd. \u202e5 No;\n"
            "700012;Diğer Okul;ilkokul;Ankara;Çankaya;;Ali \u2067Veli\u2069\n").encode()
    exc = failure(session, rt, data)
    assert [(e.row, e.field) for e in exc.errors] == [(2, "Kurum Adı"), (3, "Açık Adres"), (4, "Yetkili")]
    assert ["U+0000" in exc.errors[0].message, "U+202E" in exc.errors[1].message,
            "U+2067" in exc.errors[2].message] == [True, True, True]
    assert "position 5" in exc.errors[0].message
    assert registered(session) == {} and jurisdictions(session) == 0


def test_a_dated_rollout_step(session: Session, rt: Runtime) -> None:
    data = ("Kurum Kodu;Kurum Adı;Türü;İl;İlçe;Durum;Durum Tarihi\n"
            "700020;Kavaklı İlkokulu;ilkokul;Ankara;Çankaya;ihalede;15.01.2025\n").encode()
    run(session, rt, data, today=date(2025, 6, 1))
    site = session.scalar(select(Site).where(Site.code == "700020"))
    assert site is not None and (site.rollout_status, site.rollout_since) == ("tendered", date(2025, 1, 15))
    steps = session.scalars(select(RolloutEvent).where(RolloutEvent.site_id == site.id)).all()
    assert [(e.to_status, e.effective_on) for e in steps] == [("tendered", date(2025, 1, 15))]
    later = data.replace(b"ihalede;15.01.2025", b"s\xc3\xb6zle\xc5\x9fme;01.07.2025")
    exc = failure(session, rt, later, today=date(2025, 6, 1))
    assert [(e.row, e.field) for e in exc.errors] == [(2, "Durum Tarihi")]
    assert "01.07.2025 is in the future" in exc.errors[0].message


def test_cli_registers_a_province_and_imports_a_windows_1254_list(tmp_path: Path) -> None:
    from kgys.cli.main import app

    base = ["--data-dir", str(tmp_path / "data"), "--mode", "dev"]
    runner = CliRunner()
    assert runner.invoke(app, base + ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, base + ["jurisdictions", "add-province", "06"])
    assert result.exit_code == 0, result.output
    assert "Ankara: 27 jurisdiction(s) added (TR, TR-06, TR-06-AKYURT" in result.output
    result = runner.invoke(app, base + ["jurisdictions", "add-province", "ANKARA"])
    assert "Ankara: 0 jurisdiction(s) added" in result.output
    result = runner.invoke(app, base + ["jurisdictions", "add-province", "Atlantis"])
    assert result.exit_code == 1 and "not a plate code or name" in result.output
    sample = tmp_path / "okullar.csv"
    sample.write_bytes(MEB.encode("cp1254"))
    result = runner.invoke(app, base + ["sites", "import", str(sample)])
    assert result.exit_code == 0, result.output
    assert "sites: 4 created" in result.output
    assert "column(s) not recognised and ignored: 'Kayıt Tarihi'" in result.output
    registered = result.output.split("provinces and districts:")[1].split("sites:")[0]
    assert "TR-34-KADIKOY" in registered and "TR-06" not in registered  # Ankara was there already


def test_the_windows_1254_sample_imports_into_an_empty_registry(session: Session, rt: Runtime) -> None:
    sample = Path(__file__).resolve().parents[2] / "docs" / "samples" / "okullar-cp1254.csv"
    summary = run(session, rt, sample.read_bytes(), filename=sample.name)
    assert (summary.created, summary.encoding, summary.delimiter) == (5, "windows-1254", ";")
    assert "'Kayıt Tarihi'" in summary.warnings[0].message
    assert summary.jurisdictions_created == ["TR", "TR-26", "TR-26-ODUNPAZARI", "TR-26-TEPEBASI",
                                             "TR-26-SIVRIHISAR"]
    site = session.scalar(select(Site).where(Site.code == "758104"))
    assert site is not None
    assert (site.address, site.jurisdiction.code, site.type) == ("“Çamlıca” Mah. Ağaçlı Sk. No:2", "TR-26-TEPEBASI",
                                                                 "kindergarten")
    first = session.scalar(select(Site).where(Site.code == "758101"))
    assert first is not None
    assert (first.name, first.contact_name, first.rollout_status, first.rollout_since) == (
        "Şehit Öğretmen Ayşe Işık İlkokulu", "Hüseyin Çelik", "planned", date(2025, 2, 3))


def test_turkish_districts_are_not_added_to_another_country(session: Session, rt: Runtime) -> None:
    session.add(Jurisdiction(code="KZ", name="Қазақстан", kind="country", path="/KZ/"))
    session.flush()
    exc = failure(session, rt, "Kurum Kodu;Kurum Adı;Türü;İl;İlçe\n700030;Okul;ilkokul;İstanbul;Kadıköy\n".encode())
    assert [(e.row, e.field) for e in exc.errors] == [(2, "İl")]
    assert "no province with code or name 'İstanbul'" in exc.errors[0].message
    assert jurisdictions(session) == 1


@pytest.mark.parametrize(("data", "column", "turkish"), [
    ("site_code,name,channels,supported_storage_tb,installed_storage_tb\nIMP200,NVR-1,16,8,12\n",
     "installed_storage_tb", "takılı depolama kayıt cihazının desteklediğinden fazla"),
    ("site_code,name,recorder,megapixels,width,height\nIMP200,Giriş,NVR-9,2,1920,1080\n",
     "recorder", "'IMP200' kurumunda 'NVR-9' adlı kayıt cihazı yok"),
    ("Kurum Kodu;Kurum Adı;Türü;İlçe;Durum\nIMP200;Okul;ilkokul;TR-99-A;kuruldu\n",
     "Durum", "bir kurum aşamaları birer birer geçer: 'none' aşamasından sonraki aşama 'planned'"),
    ("Kurum Kodu;Kurum Adı;Türü;İlçe;Durum;Durum Tarihi\nIMP200;Okul;ilkokul;TR-99-A;planlandı;01.01.2020\n",
     "Durum Tarihi", "01.01.2020 tarihi kurumun önceki kurulum aşamasından (01.06.2025) önce"),
    ("Kurum Kodu;Kurum Adı;Türü;İlçe\nIMP201;Okul;ilkokul;Nowhere\n",
     "İlçe", "kodu ya da adı 'Nowhere' olan ilçe yok"),
    ("Kurum Kodu;Kurum Adı;Türü;İlçe;Öncelik\nIMP201;Okul;ilkokul;TR-99-A;9\n", "Öncelik", "En fazla 5 olmalı."),
])
def test_row_problems_read_in_turkish(session: Session, rt: Runtime, data: str, column: str, turkish: str) -> None:
    factories.tree(session)
    site = factories.site(session, code="IMP200")
    site.rollout_since = date(2025, 6, 1)
    session.flush()
    exc = failure(session, rt, data.encode(), today=date(2025, 7, 1))
    out = translated(exc, i18n.load_catalogues()["tr"].gettext)
    assert out.message == "Dosyada 1 sorun var; hiçbir şey içe aktarılmadı"
    assert [(e.row, e.field, e.message) for e in out.errors] == [(2, column, turkish)]
    assert exc.errors[0].message != turkish  # the error itself stays English for the command line
