"""No English UI sentence on a Turkish or Russian page.

Every role signs in and walks the main pages in Turkish and in Russian; the visible text of each page (text
nodes and the ``title``, ``placeholder``, ``aria-label`` and ``alt`` attributes, not scripts, styles, code or
what is marked ``lang="en"``) is searched for the English message ids of the catalogue whose translation
differs. Such an id on the page means a text that was not put through the translation, or a translation
that is missing. A ``%(name)s`` placeholder of an id matches any value.
"""

from __future__ import annotations

import gettext
import io
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.models import User
from kgys.alerts import raising
from kgys.alerts.models import Alert
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source
from kgys.cameras.models import Camera
from kgys.dispatch import service as unit_service
from kgys.dispatch.flows import escalation, sending
from kgys.dispatch.schemas import UnitIn
from kgys.dispatch.states import AssignmentMove
from kgys.incidents import service as incident_service
from kgys.incidents.flows import from_alerts
from kgys.incidents.models import Incident
from kgys.incidents.schemas import IncidentIn
from kgys.incidents.states import EntryKind, Outcome
from kgys.recording import alerts as recording_alerts
from kgys.recording import gaps, index
from kgys.runtime import Runtime
from kgys.sites.import_messages import Problem
from kgys.sites.models import Site
from kgys.web import alert_text, field_labels, i18n, labels
from tests import factories
from tests.web.conftest import browser_login

ON_SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # page text does not depend on it

ROLES = ["admin", "operator", "dispatcher", "supervisor", "investigator", "judicial_liaison", "school_admin",
         "commission_member", "auditor", "field_unit"]
PAGES = ["/dashboard", "/sites", "/sites/{site}", "/sites/{site}/compliance", "/sites/{site}/edit", "/sites/new",
         "/import", "/alerts", "/console", "/devices", "/dispatch", "/incidents", "/units", "/audit", "/holds",
         "/holds/new", "/users", "/users/new", "/field", "/no-such-page", "/sites/NO-SUCH-SITE", "/alerts/{alert}",
         "/alerts/report", "/console/board", "/audit/verify", "/devices/new", "/incidents/new", "/units/new",
         "/units/99-A-01", "/sites/{site}/rollout", "/sites/{site}/recorders/new", "/sites/{site}/cameras/new",
         "/sites/{site}/live", "/cameras/{camera}/playback", "/playback?cameras={camera}", "/exports",
         "/exports/new?cameras={camera}", "/account", "/login", "/incidents/{incident}", "/alerts/{recorder_alert}",
         "/alerts/{installation_alert}", "/evidence/requests", "/evidence/requests/new"]

# (page, English text or stored code) that stays, with the reason.
_AUDIT = "owned by the wall/audit work in progress: the audit log shows an entry's details as stored"
_CAPABILITIES = "capabilities are typed as codes; the field's hint gives two as examples"
_AUDIT_VALUES = "the audit log shows the values an entry stored (an alert's move: its kind, states and note)"
ALLOWED: dict[tuple[str, str], str] = {
    **{(page, role): _AUDIT for page in ("/audit", "/audit/verify")
       for role in ("commission_member", "judicial_liaison", "school_admin", "field_unit")},
    **{(page, "domestic_violence"): _CAPABILITIES for page in ("/alerts/{alert}", "/units/99-A-01", "/units/new",
                                                               "/incidents/new", "/alerts/{recorder_alert}",
                                                               "/alerts/{installation_alert}")},
    **{(page, stored): _AUDIT_VALUES for page in ("/audit", "/audit/verify")
       for stored in ("panic_press", "open", "false_alarm", "incident %(number)s", "incident %(number)s: %(outcome)s")},
}

SKIPPED_TAGS = {"script", "style", "code", "pre", "svg"}
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
CODE_ATTRIBUTES = ("placeholder", "aria-label", "alt")  # a tooltip may give the code behind a label
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdrf]")


class _Text(HTMLParser):
    """The visible text of a page, one string per text node or shown attribute."""

    def __init__(self, attributes: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes = attributes
        self.hidden: list[bool] = [False]
        self.tags: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        hidden = self.hidden[-1] or tag in SKIPPED_TAGS or values.get("lang") == "en"
        if not hidden:
            self.parts.extend(v for k in self.attributes if (v := values.get(k)))
        if tag not in VOID:
            self.tags.append(tag)
            self.hidden.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.tags:
            while self.tags:
                self.hidden.pop()
                if self.tags.pop() == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.hidden[-1] and data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(page: str, attributes: tuple[str, ...] = SHOWN_ATTRIBUTES) -> list[str]:
    """The visible text pieces of an HTML page (with the values of ``attributes``)."""
    parser = _Text(attributes)
    parser.feed(page)
    return parser.parts


def _pattern(msgid: str) -> re.Pattern[str] | None:
    """How ``msgid`` looks on a page, or None for an id too short or too plain to tell English by."""
    literal = PLACEHOLDER.sub(" ", msgid)
    if "<" in msgid or not re.search(r"[A-Za-z]{3,}", literal):
        return None
    body = r"\S(?:.{0,78}?\S)?".join(re.escape(re.sub(r"\s+", " ", part)) for part in PLACEHOLDER.split(msgid))
    return re.compile(rf"(?<![\w%]){body}(?![\w])")


def english_ids(cat: Catalog) -> dict[str, re.Pattern[str]]:
    """The English message ids of ``cat`` whose translation differs from them, with how each looks on a page."""
    out: dict[str, re.Pattern[str]] = {}
    for m in cat:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for msgid in ids:
            if msgid in strings:
                continue
            pattern = _pattern(msgid)
            if pattern is not None:
                out[msgid] = pattern
    return out


def english_on(page: str, ids: dict[str, re.Pattern[str]],
               attributes: tuple[str, ...] = SHOWN_ATTRIBUTES) -> list[str]:
    """The English message ids (or stored codes) found in the visible text of ``page``."""
    found = []
    for piece in visible_text(page, attributes):
        if not re.search(r"[A-Za-z]{3,}", piece):
            continue
        found.extend(msgid for msgid, pattern in ids.items() if pattern.search(piece))
    return sorted(set(found))


def stored_codes() -> dict[str, re.Pattern[str]]:
    """The stored codes that have a label (``primary_school``, ``legal_hold``): a page shows the label instead.
    Only codes with an underscore, which no name or sentence contains."""
    codes = {str(code) for module in (labels, field_labels) for name in dir(module) if name.endswith("_LABELS")
             for code in getattr(module, name) if "_" in str(code)}
    return {code: re.compile(rf"(?<![\w-]){re.escape(code)}(?![\w-])") for code in codes}


def _catalogue(lang: str) -> Catalog:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


@pytest.fixture(scope="module")
def english() -> dict[str, dict[str, re.Pattern[str]]]:
    """Per language, the English ids that a page in that language must not show."""
    return {lang: english_ids(_catalogue(lang)) for lang in ("tr", "ru")}


# --- the checker itself ---


def test_the_checker_finds_an_english_sentence_and_not_its_translation() -> None:
    cat = Catalog(locale="tr")
    cat.add("Sites", "Tesisler")
    cat.add("%(n)s camera(s) offline", "%(n)s kamera çevrim dışı")
    cat.add("PTZ", "PTZ")
    ids = english_ids(cat)
    assert english_on("<h1>Tesisler</h1><p>3 kamera çevrim dışı</p><p>PTZ</p>", ids) == []
    assert english_on("<h1>Sites</h1><p>3 camera(s) offline</p>", ids) == ["%(n)s camera(s) offline", "Sites"]
    assert english_on('<input placeholder="Sites">', ids) == ["Sites"]
    assert english_on("<script>var t = 'Sites';</script><p lang='en'>Sites</p><p>Test Sites Okulu</p>", ids) \
        == ["Sites"]  # only the last: a site's name is data, but a whole English word in it is still caught
    assert english_on("<p>Website</p>", ids) == []
    codes = stored_codes()
    assert english_on("<td>primary_school</td>", codes, CODE_ATTRIBUTES) == ["primary_school"]
    assert english_on('<td><span title="primary_school">İlkokul</span></td>', codes, CODE_ATTRIBUTES) == []


@ON_SQLITE
def test_a_removed_translation_shows_up_on_the_page(client: TestClient, session: Session, rt: Runtime,
                                                   english: dict[str, dict[str, re.Pattern[str]]]) -> None:
    _world(session, rt)
    browser_login(client, _user(session, rt, "admin", ["TR"]))
    assert english_on(client.get("/sites?lang=tr").text, english["tr"]) == []
    cat = _catalogue("tr")
    del cat["Sites"]
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    client.app.state.catalogues["tr"] = gettext.GNUTranslations(buf)  # type: ignore[attr-defined]
    assert "Sites" in english_on(client.get("/sites?lang=tr").text, english["tr"])


def test_counts_take_the_plural_forms_of_the_language() -> None:
    ru = i18n.load_catalogues()["ru"]
    said = [ru.ngettext("%(num)s day overdue", "%(num)s days overdue", n) % {"num": n} for n in (1, 3, 5, 21)]
    assert said == ["просрочено на 1 день", "просрочено на 3 дня", "просрочено на 5 дней", "просрочено на 21 день"]
    for lang, forms in (("tr", 1), ("ru", 3), ("en", 2)):
        cat = _catalogue(lang)
        assert cat.num_plurals == forms
        wrong = [m.id for m in cat if m.pluralizable and len(m.string) != forms]
        assert not wrong, f"{lang}: plural messages without {forms} forms: {wrong}"


# --- every role, every main page, both languages ---


def _world(session: Session, rt: Runtime) -> Site:
    """Two schools, one with a recorder, cameras, a panic button and an open alert, and a patrol unit; the
    server's own words about them: a camera that stopped recording (its gap, its state and its alarm), the
    recorder down, an incident made of the press with the unit sent, moved and sent back, and its timeline."""
    factories.tree(session)
    school = factories.site(session, "TR-99-A", name="Merkez İlkokulu", priority=1)
    factories.site(session, "TR-99-A", name="Yeşil Anaokulu", type="kindergarten", priority=2)
    factories.compliant_system(session, rt.box, school.code)
    factories.device(session, school.code)
    raising.raise_alert(session, Alarm(source=Source.PANIC, kind="panic_press", priority=Priority.P1,
                                       site_id=school.id))
    unit_service.create_unit(session=session, actor=factories.admin(),
                             data=UnitIn(call_sign="99-A-01", kind="patrol_car", district="TR-99-A"))
    session.flush()
    _server_words(session, school)
    session.commit()
    return school


def _server_words(session: Session, school: Site) -> None:
    """What the recorder, the jobs and dispatching write about ``school`` (see :func:`_world`)."""
    admin = factories.admin()
    camera = session.scalars(select(Camera).where(Camera.site_id == school.id).order_by(Camera.id)).first()
    assert camera is not None
    start = datetime.now(UTC) - timedelta(minutes=20)
    index.open_gap(session, camera_id=camera.id, site_id=school.id, start=start, cause=gaps.GapCause.CAMERA_OFFLINE,
                   detail=gaps.UNREACHABLE.english(line="Connection refused"))
    index.open_gap(session, camera_id=camera.id, site_id=school.id, start=start, cause=gaps.GapCause.STREAM_ERROR,
                   detail=gaps.KILLED.english(signal=9))
    index.set_state(session, camera_id=camera.id, state="offline", reason=gaps.NO_DATA.english())
    recording_alerts.raise_alert(session, kind=recording_alerts.AlertKind.RECORDER_DOWN,
                                 severity=recording_alerts.Severity.CRITICAL, subject=recording_alerts.INSTALLATION,
                                 said=recording_alerts.NOT_RECORDED,
                                 params={"detail": recording_alerts.NEVER_REPORTED.english(), "n": 3})
    press = session.scalar(select(Alert.id).where(Alert.site_id == school.id, Alert.kind == "panic_press"))
    assert press is not None
    incident = from_alerts.create_from_alerts(session=session, actor=admin,
                                              data=IncidentIn(alerts=[press], category="panic"))
    assignment, _unit, _incident = sending.assign(session=session, actor=admin, number=incident.number,
                                                  call_sign="99-A-01")
    sending.move_assignment(session=session, actor=admin, number=incident.number, assignment_id=assignment.id,
                            step=AssignmentMove.ACKNOWLEDGE)
    incident_service.add_entry(session, incident, EntryKind.ESCALATED, escalation.NOT_ACKNOWLEDGED,
                               params={"unit": "99-A-01", "seconds": 120}, by="jobs")
    sending.move_assignment(session=session, actor=admin, number=incident.number, assignment_id=assignment.id,
                            step=AssignmentMove.CANCEL)
    sending.close_incident(session=session, actor=admin, number=incident.number, outcome=Outcome.FALSE_ALARM)


def _user(session: Session, rt: Runtime, role: str, scope: list[str], school: Site | None = None) -> User:
    """A user of ``role`` (named apart from it: a name is data); a school's administrator is scoped to
    ``school`` alone."""
    if role == "school_admin" and school is not None:
        u = account_service.create_user(session=session, actor=factories.admin(), username=f"okul{school.id}",
                                        password=factories.PASSWORD, role=role, site_codes=[school.code])
    else:
        u = factories.user(session, role, scope=scope, box=rt.box, username=f"kisi{ROLES.index(role)}")
    session.commit()
    return u


@ON_SQLITE
def test_no_english_on_a_turkish_or_russian_page(client: TestClient, session: Session, rt: Runtime,
                                               english: dict[str, dict[str, re.Pattern[str]]]) -> None:
    school = _world(session, rt)
    alert_id = session.scalar(select(Alert.id).where(Alert.site_id == school.id, Alert.kind == "panic_press"))
    recorder_alert = session.scalar(select(Alert.id).where(Alert.kind == "recording_stopped"))
    installation_alert = session.scalar(select(Alert.id).where(Alert.kind == "recorder_down"))
    incident = session.scalar(select(Incident.number))
    camera_id = session.scalar(select(Camera.id).where(Camera.site_id == school.id).order_by(Camera.id))
    codes = stored_codes()
    found: dict[str, set[str]] = {}
    for role in ROLES:
        scope = ["TR"] if role in ("admin", "auditor") else ["TR-99-A"]
        browser_login(client, _user(session, rt, role, scope, school))
        for lang in ("tr", "ru"):
            for page in PAGES:
                path = page.format(site=quote(school.code), alert=alert_id, camera=camera_id, incident=incident,
                                   recorder_alert=recorder_alert, installation_alert=installation_alert)
                text = client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}").text
                shown = english_on(text, english[lang]) + english_on(text, codes, CODE_ATTRIBUTES)
                for msgid in shown:
                    if (page, msgid) not in ALLOWED:
                        found.setdefault(f"{lang} {page}", set()).add(msgid)
    assert not found, "English on translated pages: " + "; ".join(f"{k}: {sorted(v)}" for k, v in sorted(found.items()))


@ON_SQLITE
def test_the_import_preview_shows_labels_not_stored_codes(client: TestClient, session: Session, rt: Runtime,
                                                         english: dict[str, dict[str, re.Pattern[str]]]) -> None:
    _world(session, rt)
    browser_login(client, _user(session, rt, "commission_member", ["TR-99"]))
    page = client.get("/import?lang=tr").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    csv = b"code,name,type,district,priority\nWORD01,Yeni Ilkokulu,primary_school,TR-99-A,2\n"
    r = client.post("/import?lang=tr", data={"csrf_token": csrf, "dry_run": "1"},
                    files={"file": ("okullar.csv", csv, "text/csv")})
    assert r.status_code == 200, r.text
    changes = r.text.split('id="import-changes"')[1].split("</table>")[0]
    assert "İlkokul" in changes and "primary_school" not in changes
    assert '<span title="TR-99-A">Merkez</span>' in changes
    assert english_on(r.text, english["tr"]) == []


def test_an_alert_of_the_server_is_told_in_the_reader_s_language() -> None:
    escalated = SimpleNamespace(kind="assignment_unacknowledged", device=None,
                                details="Unit 99-A-01 has not acknowledged incident 2026-000001 for 120 s",
                                data={"unit": "99-A-01", "incident": "2026-000001", "waited_seconds": 120})
    offline = SimpleNamespace(kind="device_offline", device="PB-00001", details="PB-00001 silent since …",
                              data={"last_seen_at": "2026-12-06T10:15:00+00:00"})
    recorder = SimpleNamespace(kind="recorder_down", device=None, details="no heartbeat", data={})
    loaded = i18n.load_catalogues()
    i18n.activate(loaded["tr"])
    try:
        assert alert_text.details(escalated) == "99-A-01 ekibi 2026-000001 olayını 120 sn'dir onaylamadı"
        assert alert_text.details(offline) == "PB-00001, 2026-12-06 10:15:00 UTC saatinden beri sessiz"
        assert alert_text.details(recorder) == "no heartbeat"  # no values to build it from: the stored text
        i18n.activate(loaded["en"])
        assert alert_text.details(escalated) == escalated.details
    finally:
        i18n.activate(gettext.NullTranslations())


@ON_SQLITE
def test_error_pages_speak_the_reader_s_language(client: TestClient, session: Session, rt: Runtime) -> None:
    _world(session, rt)
    browser_login(client, _user(session, rt, "commission_member", ["TR-99"]))
    missing = client.get("/no-such-page?lang=ru")
    assert missing.status_code == 404
    assert "Такой страницы или записи нет" in missing.text and "Not Found" not in missing.text
    denied = client.get("/users?lang=tr")
    assert denied.status_code == 403 and "Rolünüz buna izin vermiyor." in denied.text
    assert '<code lang="en">' in denied.text  # the server's own words stay, as a technical detail
    invalid = client.get("/alerts/first?lang=tr")
    assert invalid.status_code == 422 and "tam sayı değil" in invalid.text
    api = client.get("/api/v1/sites/NO-SUCH-SITE", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json()["error"]["type"] == "NotFound"  # the API keeps its machine fields


def test_an_import_problem_from_a_service_is_translated() -> None:
    tr = i18n.load_catalogues()["tr"]
    assert Problem.text("no such site").render(tr.gettext) == "böyle bir tesis yok"
    assert Problem.text("site 'X' has no recorder 'NVR-9'").render(tr.gettext) == "site 'X' has no recorder 'NVR-9'"

