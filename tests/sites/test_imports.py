"""Importing site lists and camera inventories from CSV and XLSX: all rows or none, errors by row and column."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kgys.accounts import jurisdictions as account_jurisdictions
from kgys.accounts import service as account_service
from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.schemas import JurisdictionCreate
from kgys.audit.mechanism import set_actor
from kgys.cameras.flows import imports as camera_imports
from kgys.cameras.models import Camera, Recorder
from kgys.demo import names as demo_names
from kgys.errors import PermissionDenied, ValidationFailed
from kgys.runtime import Runtime
from kgys.sites.import_parse import fold, parse
from kgys.sites.import_summary import ImportSummary
from kgys.sites.models import RolloutEvent, Site
from tests import factories

SITES_CSV = (
    "Kurum Kodu,Adı,Türü,İl,İlçe,Adres,Enlem,Boylam,Öğrenci Sayısı,Öncelik,Yetkili,Telefon,E-posta,Durum\n"
    "IMP001,Atatürk İlkokulu,ilkokul,Deneme İli,Merkez,Cumhuriyet Cd. 1,39.91,32.85,420,1,Ayşe Yılmaz,"
    "0312 555 01 01,mudur@example.org,planlandı\n"
    "IMP002,Gazi Lisesi,Anadolu Lisesi,TR-99,TR-99-B,\"Sahil Yolu 5, Sahil\",39.95,32.9,900,2,,,,ihalede\n"
    "IMP003,Papatya Anaokulu,anaokulu,,dağ,,,,60,3,,,,\n"
)
RECORDERS_HEADER = ["site_code", "name", "vendor", "model", "channels", "supported_storage_tb",
                    "installed_storage_tb", "remote_viewing", "continuous_recording", "retention_days", "host"]
CAMERAS_HEADER = ["site_code", "name", "recorder", "megapixels", "width", "height", "poe", "night_vision",
                  "position", "bitrate_kbps", "codec", "stream_url"]


def xlsx(rows: list[list[Any]]) -> bytes:
    """An XLSX workbook whose first sheet holds ``rows``."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run(session: Session, rt: Runtime, data: bytes, actor: Actor | None = None, **kw: Any) -> ImportSummary:
    """Import ``data`` as ``actor`` (default a global administrator)."""
    return camera_imports.import_file(session=session, actor=actor or factories.admin(), box=rt.box, data=data, **kw)


def failure(session: Session, rt: Runtime, data: bytes, actor: Actor | None = None,
            **kw: Any) -> ValidationFailed:
    """The ValidationFailed an import of ``data`` raises."""
    with pytest.raises(ValidationFailed) as info:
        run(session, rt, data, actor, **kw)
    return info.value


def count(session: Session, model: type[Any]) -> int:
    """Rows of ``model``."""
    return session.scalar(select(func.count()).select_from(model)) or 0


def audit_count(session: Session) -> int:
    """Entries in the audit log."""
    return int(session.execute(text("SELECT count(*) FROM audit_entries")).scalar() or 0)


def where(exc: ValidationFailed) -> set[tuple[int | None, str]]:
    """(row, column) of every error."""
    return {(e.row, e.field) for e in exc.errors}


@pytest.fixture
def tree(session: Session) -> None:
    """The test jurisdiction tree."""
    factories.tree(session)


# ---------------------------------------------------------------- good files


@pytest.mark.usefixtures("tree")
def test_turkish_csv_creates_sites(session: Session, rt: Runtime) -> None:
    summary = run(session, rt, SITES_CSV.encode(), filename="okullar.csv")
    assert (summary.kind, summary.created, summary.updated, summary.unchanged) == ("sites", 3, 0, 0)
    s1 = session.scalar(select(Site).where(Site.code == "IMP001"))
    assert s1 is not None
    assert (s1.name, s1.type, s1.jurisdiction.code, s1.priority) == ("Atatürk İlkokulu", "primary_school", "TR-99-A", 1)
    assert (s1.student_count, s1.contact_email, s1.contact_phone) == (420, "mudur@example.org", "0312 555 01 01")
    assert s1.rollout_status == "planned"
    s2 = session.scalar(select(Site).where(Site.code == "IMP002"))
    assert s2 is not None
    assert (s2.type, s2.address, s2.jurisdiction.code, s2.rollout_status) == (
        "high_school", "Sahil Yolu 5, Sahil", "TR-99-B", "tendered")
    s3 = session.scalar(select(Site).where(Site.code == "IMP003"))
    assert s3 is not None
    assert (s3.type, s3.jurisdiction.code, s3.rollout_status, s3.latitude) == ("kindergarten", "TR-98-C", "none", None)
    steps = session.scalars(select(RolloutEvent).where(RolloutEvent.site_id == s2.id)).all()
    assert [(e.from_status, e.to_status) for e in steps] == [("none", "tendered")]
    created = {c.key: c for c in summary.changes}
    assert created["IMP001"].fields["name"] == (None, "Atatürk İlkokulu")


@pytest.mark.usefixtures("tree")
def test_bom_and_semicolon_csv_with_decimal_comma(session: Session, rt: Runtime) -> None:
    data = ("\ufeffkurum_kodu;ad;tur;ilce;enlem;boylam\n"
            "IMP010;Deniz Ortaokulu;ortaokul;Sahil;39,93;32,81\n").encode()
    summary = run(session, rt, data, filename="liste.csv")
    assert summary.created == 1
    site = session.scalar(select(Site).where(Site.code == "IMP010"))
    assert site is not None
    assert (site.type, site.latitude, site.longitude, site.jurisdiction.code) == (
        "middle_school", 39.93, 32.81, "TR-99-B")


@pytest.mark.usefixtures("tree")
def test_xlsx_creates_sites_recorders_and_cameras(session: Session, rt: Runtime) -> None:
    sites = xlsx([["code", "name", "type", "district", "priority"], ["IMP020", "Çınar Koleji", "kolej", "TR-99-A", 1]])
    recorders = xlsx([RECORDERS_HEADER, ["IMP020", "NVR-1", "Acme", "N16", 16, 16, 12, "evet", "var", 30, ""]])
    cameras = xlsx([CAMERAS_HEADER,
                    ["IMP020", "Giriş", "NVR-1", 2, 1920, 1080, "yes", True, "giriş", 4096, "H.264",
                     "rtsp://10.0.0.5/1"],
                    ["IMP020", "Çevre", "NVR-1", 2.0, 1920, 1080, 1, "1", "çevre", 4096, "h264", None]])
    assert run(session, rt, sites, filename="a.xlsx").created == 1
    assert run(session, rt, recorders, filename="b.xlsx").kind == "recorders"
    summary = run(session, rt, cameras, filename="c.xlsx")
    assert (summary.kind, summary.created) == ("cameras", 2)
    site = session.scalar(select(Site).where(Site.code == "IMP020"))
    assert site is not None
    assert site.type == "college"
    rec = session.scalar(select(Recorder).where(Recorder.site_id == site.id))
    assert rec is not None
    assert (rec.channels, rec.installed_storage_tb, rec.remote_viewing, rec.continuous_recording) == (
        16, 12, True, True)
    cams = session.scalars(select(Camera).where(Camera.site_id == site.id).order_by(Camera.name)).all()
    assert [(c.name, c.position, c.codec, c.poe, c.night_vision, c.recorder_id) for c in cams] == [
        ("Giriş", "entrance", "h264", True, True, rec.id), ("Çevre", "perimeter", "h264", True, True, rec.id)]
    assert site.compliance_status == "compliant"


@pytest.mark.usefixtures("tree")
def test_reimport_changes_nothing(session: Session, rt: Runtime) -> None:
    site = factories.site(session, code="IMP030")
    run(session, rt, SITES_CSV.encode())
    rec_csv = ",".join(RECORDERS_HEADER) + "\nIMP030,NVR-1,,,16,16,12,yes,yes,30,\n"
    cam_csv = ",".join(CAMERAS_HEADER) + "\nIMP030,Giriş,NVR-1,2,1920,1080,yes,yes,entrance,4096,h264,\n"
    run(session, rt, rec_csv.encode())
    run(session, rt, cam_csv.encode())
    versions = {s.code: s.version for s in session.scalars(select(Site))}
    entries = audit_count(session)
    for data, kind in ((SITES_CSV, "sites"), (rec_csv, "recorders"), (cam_csv, "cameras")):
        summary = run(session, rt, data.encode())
        assert (summary.kind, summary.created, summary.updated, summary.changes) == (kind, 0, 0, [])
        assert summary.unchanged == summary.rows > 0
    assert audit_count(session) == entries
    session.expire_all()
    assert {s.code: s.version for s in session.scalars(select(Site))} == versions
    assert site.version == versions["IMP030"]


@pytest.mark.usefixtures("tree")
def test_update_changes_only_given_fields(session: Session, rt: Runtime) -> None:
    site = factories.site(session, code="IMP040", name="Eski Ad", address="Eski adres", priority=4)
    version = site.version
    summary = run(session, rt, b"code,name,type,district\nIMP040,Yeni Ad,primary_school,TR-99-A\n")
    assert (summary.created, summary.updated) == (0, 1)
    assert summary.changes[0].fields == {"name": ("Eski Ad", "Yeni Ad")}
    session.refresh(site)
    assert (site.name, site.address, site.priority, site.version) == ("Yeni Ad", "Eski adres", 4, version + 1)


@pytest.mark.usefixtures("tree")
def test_rollout_of_existing_site_moves_one_step(session: Session, rt: Runtime) -> None:
    factories.site(session, code="IMP050")
    summary = run(session, rt, b"code,name,type,district,rollout_status\nIMP050,X,ilkokul,TR-99-A,planned\n")
    assert summary.changes[0].fields["rollout_status"] == ("none", "planned")
    exc = failure(session, rt, b"code,name,type,district,rollout_status\nIMP050,X,ilkokul,TR-99-A,kuruldu\n")
    assert where(exc) == {(2, "rollout_status")}
    assert "one step at a time" in exc.errors[0].message


@pytest.mark.usefixtures("tree")
def test_dry_run_writes_nothing(session: Session, rt: Runtime) -> None:
    sites, entries = count(session, Site), audit_count(session)
    summary = run(session, rt, SITES_CSV.encode(), dry_run=True)
    assert (summary.dry_run, summary.created) == (True, 3)
    assert (count(session, Site), audit_count(session)) == (sites, entries)
    assert session.scalar(select(Site).where(Site.code == "IMP001")) is None


# ---------------------------------------------------------------- bad files


@pytest.mark.usefixtures("tree")
@pytest.mark.parametrize(("data", "filename", "needle"), [
    (b"", "x.csv", "empty"),
    (b"\n\n  \n", "x.csv", "empty"),
    (b"code,name,type,district\n", "x.csv", "no data rows"),
    (b"this is not a workbook", "sites.xlsx", "not a valid XLSX"),
    (b"PK\x03\x04broken zip", "sites.bin", "not a valid XLSX"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old", "sites.xls", ".xls"),
    (b"foo,bar\n1,2\n", "x.csv", "cannot tell"),
])
def test_unreadable_files(session: Session, rt: Runtime, data: bytes, filename: str, needle: str) -> None:
    exc = failure(session, rt, data, filename=filename)
    assert needle in exc.message
    assert exc.errors and exc.errors[0].field == "file"
    assert count(session, Site) == 0


@pytest.mark.usefixtures("tree")
def test_header_problems_are_named(session: Session, rt: Runtime) -> None:
    exc = failure(session, rt, b"code,name,colour,district\nIMP070,A,red,TR-99-A\n", kind="sites")
    messages = " | ".join(e.message for e in exc.errors)
    assert "columns not recognised: 'colour'" in messages
    assert "missing required column(s): type;" in messages
    assert all(e.row == 1 for e in exc.errors)
    assert count(session, Site) == 0


@pytest.mark.usefixtures("tree")
def test_values_outside_the_header_are_errors(session: Session, rt: Runtime) -> None:
    data = b"code,name,,type,district\nIMP075,A,,ilkokul,TR-99-A\nIMP076,B,stray,ilkokul,TR-99-A,extra\n"
    exc = failure(session, rt, data)
    assert [(e.row, e.field) for e in exc.errors] == [(3, "file"), (3, "file")]
    assert "cell 3" in exc.errors[1].message or "cell 3" in exc.errors[0].message
    assert count(session, Site) == 0


@pytest.mark.usefixtures("tree")
def test_duplicate_codes_name_both_rows(session: Session, rt: Runtime) -> None:
    data = b"code,name,type,district\nIMP080,A,ilkokul,TR-99-A\nIMP081,B,ilkokul,TR-99-A\nIMP080,C,lise,TR-99-A\n"
    exc = failure(session, rt, data)
    assert where(exc) == {(4, "code")}
    assert "rows 2 and 4" in exc.errors[0].message
    assert count(session, Site) == 0


@pytest.mark.usefixtures("tree")
def test_too_many_rows(session: Session, rt: Runtime) -> None:
    body = "".join(f"X{i},Okul {i},ilkokul,TR-99-A\n" for i in range(50_001))
    exc = failure(session, rt, ("code,name,type,district\n" + body).encode())
    assert "more than 50,000" in exc.message
    assert count(session, Site) == 0


@pytest.mark.usefixtures("tree")
def test_every_bad_row_is_reported_and_nothing_is_written(session: Session, rt: Runtime) -> None:
    entries = audit_count(session)
    data = ("code,name,type,district,latitude,priority,contact_email,rollout_status\n"
            "IMP090,Good,ilkokul,TR-99-A,39.9,1,,\n"
            "IMP091,Bad lat,ilkokul,TR-99-A,123,1,,\n"
            "IMP092,Bad type,üniversite hastanesi,TR-99-A,,1,,\n"
            "IMP093,Bad mail,ilkokul,TR-99-A,,1,not-a-mail,\n"
            "IMP094,No district,ilkokul,Nowhere,,1,,\n"
            "IMP095,Bad step,ilkokul,TR-99-A,,1,,yarın\n"
            "bad code!,Bad code,ilkokul,TR-99-A,,9,,\n"
            ",,ilkokul,TR-99-A,,1,,\n")
    exc = failure(session, rt, data.encode())
    assert where(exc) == {(3, "latitude"), (4, "type"), (5, "contact_email"), (6, "district"),
                          (7, "rollout_status"), (8, "code"), (8, "priority"), (9, "code"), (9, "name")}
    assert "9 problem(s)" in exc.message and "nothing was imported" in exc.message
    assert [e.row for e in exc.errors] == sorted(e.row or 0 for e in exc.errors)
    assert session.scalar(select(Site).where(Site.code == "IMP090")) is None
    assert audit_count(session) == entries


@pytest.mark.usefixtures("tree")
def test_errors_are_capped_but_counted(session: Session, rt: Runtime) -> None:
    body = "".join(f"X{i},Okul,ilkokul,TR-99-A,500\n" for i in range(300))
    exc = failure(session, rt, ("code,name,type,district,latitude\n" + body).encode())
    assert len(exc.errors) == 200
    assert exc.params["total"] == 300
    assert "300 problem(s)" in exc.message


@pytest.mark.usefixtures("tree")
def test_ambiguous_district_name_needs_the_province(session: Session, rt: Runtime) -> None:
    province = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "TR-98"))
    assert province is not None
    session.add(Jurisdiction(code="TR-98-M", name="Merkez", kind="district", parent_id=province.id,
                             path=f"{province.path}TR-98-M/"))
    session.flush()
    exc = failure(session, rt, b"code,name,type,district\nIMP100,A,ilkokul,Merkez\n")
    assert where(exc) == {(2, "district")}
    assert "ambiguous" in exc.errors[0].message
    summary = run(session, rt, b"code,name,type,province,district\nIMP100,A,ilkokul,\xc3\x96rnek ili,merkez\n")
    assert summary.created == 1
    site = session.scalar(select(Site).where(Site.code == "IMP100"))
    assert site is not None and site.jurisdiction.code == "TR-98-M"


@pytest.mark.usefixtures("tree")
def test_site_is_not_moved_to_another_district(session: Session, rt: Runtime) -> None:
    factories.site(session, code="IMP110")
    exc = failure(session, rt, b"code,name,type,district\nIMP110,A,ilkokul,TR-99-B\n")
    assert where(exc) == {(2, "district")}


@pytest.mark.usefixtures("tree")
def test_camera_with_unknown_recorder_or_site(session: Session, rt: Runtime) -> None:
    factories.site(session, code="IMP120")
    data = (",".join(CAMERAS_HEADER) + "\nIMP120,Giriş,NVR-9,2,1920,1080,yes,yes,entrance,4096,h264,\n"
            "NOPE,Giriş,,2,1920,1080,yes,yes,entrance,4096,h264,\n"
            "IMP120,Bahçe,,2,1920,1080,belki,yes,bahçe,4096,h264,rtsp://u:p@10.0.0.1/\n")
    exc = failure(session, rt, data.encode())
    assert where(exc) == {(2, "recorder"), (3, "site_code"), (4, "poe"), (4, "stream_url")}
    assert count(session, Camera) == 0


@pytest.mark.usefixtures("tree")
def test_recorder_storage_rule_is_a_row_error(session: Session, rt: Runtime) -> None:
    factories.site(session, code="IMP130")
    data = ",".join(RECORDERS_HEADER) + "\nIMP130,NVR-1,,,16,8,12,yes,yes,30,\n"
    exc = failure(session, rt, data.encode())
    assert where(exc) == {(2, "installed_storage_tb")}
    assert count(session, Recorder) == 0


# ---------------------------------------------------------------- who may import what


@pytest.mark.usefixtures("tree")
def test_out_of_scope_district_is_a_row_error(session: Session, rt: Runtime) -> None:
    member = account_service.actor_for(factories.user(session, "commission_member", scope=["TR-99"]))
    data = b"code,name,type,district\nIMP140,A,ilkokul,TR-99-A\nIMP141,B,ilkokul,TR-98-C\n"
    exc = failure(session, rt, data, member)
    assert where(exc) == {(3, "district")}
    assert "outside your scope" in exc.errors[0].message
    assert count(session, Site) == 0
    assert run(session, rt, data.splitlines(keepends=True)[0] + data.splitlines(keepends=True)[1],
               member).created == 1


@pytest.mark.usefixtures("tree")
def test_role_without_import_is_refused(session: Session, rt: Runtime) -> None:
    operator = account_service.actor_for(factories.user(session, "operator"))
    with pytest.raises(PermissionDenied):
        run(session, rt, SITES_CSV.encode(), operator)


@pytest.mark.usefixtures("tree")
def test_missing_row_permission_is_a_row_error(session: Session, rt: Runtime) -> None:
    factories.site(session, code="IMP150")
    school = account_service.actor_for(factories.user(session, "school_admin"))
    exc = failure(session, rt, b"code,name,type,district\nIMP150,Yeni,ilkokul,TR-99-A\nIMP151,B,lise,TR-99-A\n",
                  school)
    assert where(exc) == {(3, "code")}
    assert "sites.create" in exc.errors[0].message
    commission = account_service.actor_for(factories.user(session, "commission_member"))
    data = ",".join(RECORDERS_HEADER) + "\nIMP150,NVR-1,,,16,16,12,yes,yes,30,\n"
    exc = failure(session, rt, data.encode(), commission)
    assert where(exc) == {(2, "site_code")}
    assert "cameras.edit" in exc.errors[0].message


def test_sample_files_import_into_the_demo_tree(session: Session, rt: Runtime) -> None:
    actor = factories.admin()
    set_actor(session, actor)
    session.add(Jurisdiction(code="TR", name="Türkiye", kind="country", path="/TR/"))
    session.flush()
    for code, (name, _lat, _lon) in demo_names.PROVINCES.items():
        account_jurisdictions.create_jurisdiction(session=session, actor=actor, data=JurisdictionCreate(
            code=code, name=name, kind="province", parent="TR"))
    for code, parent, name, *_rest in demo_names.DISTRICTS:
        account_jurisdictions.create_jurisdiction(session=session, actor=actor, data=JurisdictionCreate(
            code=code, name=name, kind="district", parent=parent))
    samples = Path(__file__).resolve().parents[2] / "docs" / "samples"
    for name, kind, rows in (("sites.csv", "sites", 5), ("recorders.csv", "recorders", 2),
                             ("cameras.csv", "cameras", 5)):
        summary = run(session, rt, (samples / name).read_bytes(), filename=name)
        assert (summary.kind, summary.created) == (kind, rows)
    site = session.scalar(select(Site).where(Site.code == "600101"))
    assert site is not None
    assert (site.jurisdiction.code, site.rollout_status, site.compliance_status) == ("TR-99-01", "planned", "compliant")


# ---------------------------------------------------------------- parsing


def test_fold_matches_turkish_headers() -> None:
    assert [fold(h) for h in ("Kurum Kodu", "İLÇE", "Öncelik", "ilçe", "E-posta", " Öğrenci  Sayısı ")] == [
        "kurum_kodu", "ilce", "oncelik", "ilce", "e_posta", "ogrenci_sayisi"]


def test_kind_is_detected_from_the_header() -> None:
    assert parse(b"kurum kodu;ad;t\xc3\xbcr;il\xc3\xa7e\nA;B;lise;C\n").kind == "sites"
    assert parse(",".join(RECORDERS_HEADER).encode() + b"\nA,B,,,16,16,12,,,,\n").kind == "recorders"
    assert parse(b"kurum_kodu,kamera_adi,mp,genislik,yukseklik\nA,B,2,1920,1080\n").kind == "cameras"


# ---------------------------------------------------------------- the command line


def test_cli_import(tmp_path: Path) -> None:
    from kgys.cli.main import app

    base = ["--data-dir", str(tmp_path / "data"), "--mode", "dev"]
    runner = CliRunner()
    for args in (["db", "upgrade"], ["jurisdictions", "add-country", "TR", "Türkiye"],
                 ["jurisdictions", "add", "TR-99", "Deneme", "--kind", "province", "--parent", "TR"],
                 ["jurisdictions", "add", "TR-99-A", "Merkez", "--kind", "district", "--parent", "TR-99"]):
        result = runner.invoke(app, base + args)
        assert result.exit_code == 0, result.output
    good = tmp_path / "sites.csv"
    good.write_text("code,name,type,district\nC1,Okul 1,ilkokul,Merkez\nC2,Okul 2,lise,TR-99-A\n", "utf-8")
    result = runner.invoke(app, base + ["sites", "import", str(good), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    result = runner.invoke(app, base + ["sites", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output
    result = runner.invoke(app, base + ["sites", "import", str(good)])
    assert "0 created, 0 updated, 2 unchanged" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,type,district\nC3,Okul 3,ilkokul,TR-99-A\nC4,Okul 4,ilkokul,Nowhere\n", "utf-8")
    result = runner.invoke(app, base + ["sites", "import", str(bad)])
    assert result.exit_code == 1
    assert "Nowhere" in result.output and "district" in result.output
    result = runner.invoke(app, base + ["sites", "import", str(good), "--as", "nobody"])
    assert result.exit_code == 1
    assert "no user 'nobody'" in result.output
