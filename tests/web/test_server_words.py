"""The server's own words on the pages, in the reader's language: what the recorder, the jobs and dispatching
wrote (a gap's reason, a camera's state, a recording alarm, a unit's history, an incident's timeline, an alert's
notes) and what a refused form or a refused move says, with the fields named by their labels."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.alerts.models import Alert
from kgys.cameras.models import Camera
from kgys.incidents.models import Incident
from kgys.runtime import Runtime
from tests.web.conftest import browser_login
from tests.web.test_no_english import (
    ALLOWED,
    CODE_ATTRIBUTES,
    ON_SQLITE,
    _catalogue,
    _user,
    _world,
    english_ids,
    english_on,
    stored_codes,
    visible_text,
)


@pytest.fixture(scope="module")
def english() -> dict[str, dict[str, re.Pattern[str]]]:
    """Per language, the English ids that a page in that language must not show."""
    return {lang: english_ids(_catalogue(lang)) for lang in ("tr", "ru")}


@ON_SQLITE
def test_the_server_s_own_words_are_said_in_the_reader_s_language(client: TestClient, session: Session,
                                                                  rt: Runtime) -> None:
    """A row the server wrote while a Turkish user worked reads in Russian for a Russian reader."""
    school = _world(session, rt)
    browser_login(client, _user(session, rt, "admin", ["TR"]))
    camera_id = session.scalar(select(Camera.id).where(Camera.site_id == school.id).order_by(Camera.id))
    recorder_alert = session.scalar(select(Alert.id).where(Alert.kind == "recording_stopped"))
    installation_alert = session.scalar(select(Alert.id).where(Alert.kind == "recorder_down"))
    press = session.scalar(select(Alert.id).where(Alert.kind == "panic_press"))
    number = session.scalar(select(Incident.number))
    expected = {
        f"/cameras/{camera_id}/playback": ["камера недоступна: Connection refused", "последнее: ffmpeg завершён "
                                                                                    "сигналом 9"],
        f"/sites/{quote(school.code)}/compliance": ["из потока не поступают новые данные"],
        f"/alerts/{recorder_alert}": ["камера перестала записывать (Камера недоступна): камера недоступна: "
                                      "Connection refused"],
        f"/alerts/{installation_alert}": ["служба записи не работает (ни разу не отозвалась); 3 камеры не "
                                          "записываются"],
        f"/alerts/{press}": [f"происшествие {number}: Ложная тревога"],
        "/units/99-A-01": ["зарегистрирован", "назначение: Отменено"],
        f"/incidents/{number}": [f"открыто по тревогам {press}", "назначен наряд 99-A-01",
                                 "наряд 99-A-01 не подтвердил за 120 с", "закрыто: Ложная тревога"],
    }
    for path, sentences in expected.items():
        page = client.get(f"{path}?lang=ru").text
        for sentence in sentences:
            assert sentence in page, f"{path}: {sentence!r} not shown"
    queue = client.get("/api/v1/alerts/queue", headers={"Accept": "application/json"}).json()["items"]
    said = {a["kind"]: a["text"] for a in queue}
    assert said["recording_stopped"].startswith("камера перестала записывать")  # the console's card reads it
    assert {a["kind"]: a["details"] for a in queue}["recording_stopped"].startswith("camera stopped recording")


@ON_SQLITE
def test_a_refused_form_names_its_fields_by_their_labels(client: TestClient, session: Session, rt: Runtime,
                                                         english: dict[str, dict[str, re.Pattern[str]]]) -> None:
    _world(session, rt)
    csrf = browser_login(client, _user(session, rt, "admin", ["TR"]))
    for lang, label in (("tr", "Çağrı adı"), ("ru", "Позывной")):
        r = client.post(f"/units/new?lang={lang}", data={"csrf_token": csrf, "call_sign": "", "kind": "patrol_car",
                                                         "district": "TR-99-A"})
        assert r.status_code in (200, 422), r.text
        summary = r.text.split('id="form-errors"')[1].split("</div>")[0]
        assert label in summary and "call_sign" not in visible_text(summary)
        shown = english_on(r.text, english[lang]) + english_on(r.text, stored_codes(), CODE_ATTRIBUTES)
        assert [m for m in shown if ("/units/new", m) not in ALLOWED] == [], shown
    number = session.scalar(select(Incident.number))
    closed = client.post(f"/incidents/{number}/close?lang=ru", data={"csrf_token": csrf, "outcome": "resolved"})
    assert closed.status_code == 409 and f"Происшествие {number} уже закрыто." in closed.text
    error = client.get("/alerts/first?lang=ru")
    assert error.status_code == 422 and "<b title=\"alert_id\">Тревога</b>" in error.text
