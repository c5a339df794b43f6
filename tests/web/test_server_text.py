"""The server's own sentences, said again in the reader's language: from a stored code and values, or from the
stored English of a row with no room for a code; anything else as it was stored, never an error."""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from kgys.accounts import refusals as account_refusals
from kgys.alerts import cap
from kgys.alerts import service as alert_service
from kgys.audit import export as audit_export
from kgys.cameras import service as camera_service
from kgys.devices import intake
from kgys.devices.flows import lockdown
from kgys.dispatch import assignments
from kgys.dispatch import service as dispatch_service
from kgys.dispatch.flows import escalation, sending
from kgys.errors import FieldError, ValidationFailed
from kgys.exports import service as export_service
from kgys.incidents import service as incident_service
from kgys.incidents.flows import from_alerts
from kgys.live import refusals as live_refusals
from kgys.recording import alerts, gaps, policy, retention
from kgys.recording.flows import holds as hold_flows
from kgys.said import Said
from kgys.sites import floorplans
from kgys.sites import service as site_service
from kgys.sites.flows import jurisdictions as site_jurisdictions
from kgys.web import alert_text, error_text, field_labels, forms, i18n, server_text
from kgys.web.contract import error_body

CATALOGUES = i18n.load_catalogues()


@pytest.fixture
def speak() -> Iterator[Any]:
    """Make a language the request's for the test."""
    yield lambda lang: i18n.activate(CATALOGUES[lang])
    i18n.activate(gettext.NullTranslations())


# (sentence, values, Turkish, Russian, English)
SAID: list[tuple[Said, dict[str, Any], str, str, str]] = [
    (gaps.UNREACHABLE, {"line": "Connection refused"}, "kameraya ulaşılamıyor: Connection refused",
     "камера недоступна: Connection refused", "camera unreachable: Connection refused"),
    (gaps.EXITED_LINE, {"status": 1, "line": "boom"}, "ffmpeg 1 durum koduyla çıktı: boom",
     "ffmpeg завершился с кодом 1: boom", "ffmpeg exited with status 1: boom"),
    (alerts.STOPPED, {"cause": "camera_offline", "detail": "camera unreachable: x"},
     "kamera kaydı durdu (Kamera çevrim dışı): kameraya ulaşılamıyor: x",
     "камера перестала записывать (Камера недоступна): камера недоступна: x",
     "camera stopped recording (Camera offline): camera unreachable: x"),
    (alerts.NOT_RECORDED, {"detail": "the recorder worker stopped at 2026-12-06T10:15:00+00:00 and has not been "
                                     "restarted", "n": 1},
     "kayıt servisi 2026-12-06 10:15:00 UTC saatinde durdu ve yeniden başlatılmadı; 1 kamera kaydedilmiyor",
     "служба записи остановилась в 2026-12-06 10:15:00 UTC и не была перезапущена; 1 камера не записывается",
     "the recorder worker stopped at 2026-12-06 10:15:00 UTC and has not been restarted; 1 camera is not being "
     "recorded"),
    (alerts.DELETE_FAILED, {"n": 3, "path": "/v/1.mp4"}, "süresi dolan 3 kayıt parçası depodan silinemedi, örneğin "
     "/v/1.mp4", "3 фрагмента с истёкшим сроком не удалось удалить из хранилища, например /v/1.mp4",
     "3 expired segments could not be deleted from storage, e.g. /v/1.mp4"),
    (alerts.DELETE_FAILED, {"n": 5, "path": "/v"}, "süresi dolan 5 kayıt parçası depodan silinemedi, örneğin /v",
     "5 фрагментов с истёкшим сроком не удалось удалить из хранилища, например /v",
     "5 expired segments could not be deleted from storage, e.g. /v"),
    (retention.FORECAST_WARNING, {"days": "25.0", "keep": "30"},
     "depo 25.0 günlük kayıt tutabiliyor, 30 günlük saklama süresine yakın veya altında",
     "хранилище вмещает 25.0 сут., около или ниже нормы в 30 сут.",
     "storage holds 25.0 days, close to or below the policy of 30 days"),
    (sending.UNIT_STATE_NOTE, {"unit": "99-A-01", "state": "en_route", "note": "Lastik"},
     "99-A-01 ekibi: Yolda — Lastik", "наряд 99-A-01: В пути — Lastik", "unit 99-A-01: En route — Lastik"),
    (escalation.NOT_ACKNOWLEDGED, {"unit": "99-A-01", "seconds": 120}, "99-A-01 ekibi 120 sn içinde onaylamadı",
     "наряд 99-A-01 не подтвердил за 120 с", "unit 99-A-01 did not acknowledge within 120 s"),
    (incident_service.CLOSED, {"outcome": "false_alarm"}, "kapatıldı: Yanlış alarm", "закрыто: Ложная тревога",
     "closed: False alarm"),
    (from_alerts.ALERT_NOTE_OUTCOME, {"number": "2026-000001", "outcome": "no_trace"},
     "olay 2026-000001: Varışta bir şey bulunamadı", "происшествие 2026-000001: На месте ничего не обнаружено",
     "incident 2026-000001: Nothing found on arrival"),
    (dispatch_service.REGISTERED, {}, "kaydedildi", "зарегистрирован", "registered"),
    (intake.CANCELLED, {}, "cihazdan iptal edildi", "отменено на устройстве", "cancelled at the device"),
    (lockdown.NOTES["lockdown"], {"sites": "TR-1, TR-2", "reason": "Bahçede silahlı kişi"},
     "Kilitleme emri verildi (TR-1, TR-2): Bahçede silahlı kişi",
     "Отдан приказ о блокировке (TR-1, TR-2): Bahçede silahlı kişi",
     "Lockdown ordered (TR-1, TR-2): Bahçede silahlı kişi"),
    (incident_service.STILL_ACTIVE, {"number": "2026-000001", "n": 2},
     "2026-000001 olayının 2 etkin görevi var: önce tamamlayın veya iptal edin.",
     "У происшествия 2026-000001 2 активных назначения: сначала завершите или отмените их.",
     "Incident 2026-000001 has 2 active assignments: clear or cancel them first."),
    (assignments.CANNOT_GO, {"unit": "99-A-01", "detail": "the unit is off_duty, not available"},
     "99-A-01 ekibi gönderilemez: ekip müsait değil (Görev dışı).",
     "Наряд 99-A-01 нельзя направить: наряд не свободен (Не на службе).",
     "Unit 99-A-01 cannot be sent: the unit is Off duty, not available."),
    (cap.CANCELLED_BY, {"sender": "afad@example.org"}, "afad@example.org tarafından iptal edildi",
     "отменено отправителем afad@example.org", "cancelled by afad@example.org"),
]


@pytest.mark.parametrize(("said", "params", "tr", "ru", "en"), SAID, ids=[s[0].msgid[:40] for s in SAID])
def test_a_code_with_its_values_is_said_in_each_language(speak: Any, said: Said, params: dict[str, Any], tr: str,
                                                         ru: str, en: str) -> None:
    for lang, expected in (("tr", tr), ("ru", ru), ("en", en)):
        speak(lang)
        assert server_text.text("stored", {"said": said.code(**params)}) == expected, lang
        assert server_text.text(said.english(**params)) == expected, f"{lang}, recognised from the stored English"


@pytest.mark.parametrize(("stored", "ru"), [
    ("camera unreachable: timeout\nlatest: ffmpeg killed by signal 9",
     "камера недоступна: timeout\nпоследнее: ffmpeg завершён сигналом 9"),
    ("assignment on_scene", "назначение: На месте"),
    ("incident was bad", "incident was bad"),  # a person's note that only starts like one
    ("Lastik patladı", "Lastik patladı"),
    ("", ""),
])
def test_a_stored_text_is_recognised_or_left_as_it_is(speak: Any, stored: str, ru: str) -> None:
    speak("ru")
    assert server_text.text(stored) == ru


@pytest.mark.parametrize("data", [
    {"said": {"code": "a sentence of a newer server %(x)s", "params": {"x": 1}}},
    {"said": {"code": gaps.UNREACHABLE.msgid, "params": {}}},  # a value missing
    {"said": {"code": alerts.NOT_RECORDED.msgid, "params": {"detail": "d", "n": "many"}}},  # a count not a number
    {"said": {"code": gaps.UNREACHABLE.msgid}},
    {"said": "camera unreachable"},
    {"said": None},
])
def test_an_unknown_or_broken_code_is_shown_readable_never_an_error(speak: Any, data: dict[str, Any]) -> None:
    speak("tr")
    assert server_text.text("the stored text", data) == "the stored text"
    assert server_text.text("", {"said": {"code": "unknown", "params": {}}}) == "Başka ayrıntı yok."


def test_every_sentence_of_the_server_is_known_once() -> None:
    known = server_text.known()
    assert len({s.msgid for s in known}) == len(known)
    assert {gaps.LATEST, assignments.STEP, alerts.DISK_PRESSURE, retention.FORECAST_OK} <= set(known)


def test_a_recording_alarm_is_told_from_its_code(speak: Any) -> None:
    stored = alerts.IN_SPOOL.code(message="object store unreachable")
    alert = SimpleNamespace(kind="storage_error", device=None, details="segments stay in the spool: …",
                            data={"said": stored})
    old = SimpleNamespace(kind="storage_error", device=None, details="segments stay in the spool: disk", data={})
    speak("ru")
    assert alert_text.details(alert) == "фрагменты остаются в буфере: object store unreachable"
    assert alert_text.details(old) == "фрагменты остаются в буфере: disk"  # an older row: its stored English


def test_a_press_says_what_was_pressed_and_where(speak: Any) -> None:
    press = SimpleNamespace(kind="panic_press", device="PB-1", details="medical — Room 12",
                            data={"press_type": "medical", "room": "Room 12"})
    speak("tr")
    assert alert_text.details(press) == "Tıbbi acil durum — Room 12"
    speak("ru")
    assert alert_text.details(press) == "Медицинская помощь — Room 12"
    assert alert_text.details(SimpleNamespace(kind="panic_press", device="PB-1", details="", data={})) == ""


@pytest.mark.parametrize(("name", "names", "tr", "ru"), [
    ("call_sign", None, "Çağrı adı", "Позывной"),
    ("alerts.0", None, "Alarmlar #1", "Тревоги #1"),
    ("alert_id", None, "Alarm", "Тревога"),
    ("q", {"q": "Ara"}, "Ara", "Ara"),  # the page's own label first
    ("some_new_field", None, "some_new_field", "some_new_field"),
])
def test_a_field_is_named_by_its_label(speak: Any, name: str, names: dict[str, str] | None, tr: str,
                                       ru: str) -> None:
    for lang, expected in (("tr", tr), ("ru", ru)):
        speak(lang)
        assert field_labels.field_label(name, names) == expected


def test_a_refusal_built_around_values_is_said_in_the_reader_s_language(speak: Any) -> None:
    closed = FieldError.said("alerts.0", from_alerts.ALERT_CLOSED, alert_state="resolved", value="7")
    assert closed.message == "the alert is closed (resolved)"  # the API's words
    assert "msgid" not in error_body("ValidationFailed", "invalid input", [closed.as_dict()])["error"]["fields"][0]
    speak("ru")
    assert forms.service_errors([closed]) == {"alerts.0": "тревога закрыта (Разрешена)"}
    assert error_text.field_messages([closed.as_dict()], "ru")[0]["message"] == "тревога закрыта (Разрешена)"
    speak("tr")
    busy = FieldError.said("alerts.1", from_alerts.IN_INCIDENT, number="2026-000002")
    assert forms.service_errors([busy]) == {"alerts.1": "alarm zaten açık 2026-000002 olayında"}
    broken = FieldError("note", "at most 2000 characters", msgid=from_alerts.IN_INCIDENT.msgid, params={})
    assert forms.service_errors([broken]) == {"note": "at most 2000 characters"}  # values that do not fit: its text


def test_a_retention_policy_refusal_is_said_in_the_reader_s_language(speak: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        policy.validate(days=0, min_days=None, reason="x" * 2001)
    speak("ru")
    assert forms.service_errors(caught.value.errors) == {
        "days": "должно быть от 1 до 3650", "min_days": "должно быть от 1 до 3650", "reason": "не более 2000 символов"}
    with pytest.raises(ValidationFailed) as caught:
        policy.validate(days=30, min_days=40, reason="okul")
    speak("tr")
    assert forms.service_errors(caught.value.errors) == {"min_days": "gün sayısını (30) aşamaz"}


# a form's refusal built around values: (sentence, values, Turkish, Russian, the API's English)
REFUSED: list[tuple[Said, dict[str, Any], str, str, str]] = [
    (site_service.NO_JURISDICTION, {"code": "TR-06"}, "'TR-06' kodlu yetki alanı yok",
     "нет территории с кодом 'TR-06'", "no jurisdiction with code 'TR-06'"),
    (site_service.NO_DISTRICT, {"code": "TR-06-99"}, "'TR-06-99' kodlu ilçe yok", "нет района с кодом 'TR-06-99'",
     "no district with code 'TR-06-99'"),
    (site_service.DISTRICT_OUTSIDE, {"code": "TR-34-01"}, "'TR-34-01' ilçesi yetki alanınızın dışında",
     "район 'TR-34-01' вне вашей зоны ответственности", "district 'TR-34-01' is outside your scope"),
    (site_service.NO_PLACE, {"code": "X"}, "'X' kodlu il ya da ilçe yok", "нет области или района с кодом 'X'",
     "no province or district with code 'X'"),
    (site_jurisdictions.NOT_A_DISTRICT, {"name": "Kadıköy", "province": "Ankara"},
     "'Kadıköy', Ankara ilinin bir ilçesi değil", "'Kadıköy' не является районом области Ankara",
     "'Kadıköy' is not a district of Ankara"),
    (floorplans.LARGER_THAN, {"mb": 20}, "görüntü 20 MB'tan büyük", "изображение больше 20 МБ",
     "the image is larger than 20 MB"),
    (floorplans.AT_MOST, {"max_length": 120}, "en fazla 120 karakter", "не более 120 символов",
     "at most 120 characters"),
    (floorplans.AT_MOST_PLANS, {"most": 50}, "bir yerleşkenin en fazla 50 kat planı olabilir",
     "у объекта может быть не более 50 поэтажных планов", "a site has at most 50 floor plans"),
    (floorplans.BETWEEN, {"most": 3}, "1 ile 3 arasında", "от 1 до 3", "between 1 and 3"),
    (account_refusals.NO_SITE_CODE, {"code": "760123"}, "'760123' kurum kodlu yerleşke yok",
     "нет объекта с кодом учреждения '760123'", "no site with institution code '760123'"),
    (account_refusals.NO_SITE, {"site": 7}, "7 numaralı yerleşke yok", "нет объекта 7", "no site 7"),
    (account_refusals.UNKNOWN_ROLE, {"role": "boss", "roles": "admin, operator"},
     "bilinmeyen rol 'boss'; şunlardan biri olmalı: admin, operator", "неизвестная роль 'boss'; допустимы: admin, "
     "operator", "unknown role 'boss'; one of admin, operator"),
    (account_refusals.NO_JURISDICTION, {"code": "TR-99"}, "'TR-99' kodlu yetki alanı yok",
     "нет территории с кодом 'TR-99'", "no jurisdiction with code 'TR-99'"),
    (account_refusals.OUTSIDE, {"code": "TR-34"}, "'TR-34' yetki alanı sizin yetki alanınızın dışında",
     "территория 'TR-34' вне вашей зоны ответственности", "jurisdiction 'TR-34' is outside your scope"),
    (account_refusals.NOT_WITHIN, {"code": "TR-34"}, "yetki alanınızda 'TR-34' diye bir yetki alanı yok",
     "в вашей зоне ответственности нет территории 'TR-34'", "no jurisdiction 'TR-34' within your scope"),
    (account_refusals.NO_SITE_WITHIN, {"code": "760123"}, "yetki alanınızda '760123' kodlu kurum yok",
     "в вашей зоне ответственности нет объекта '760123'", "no site '760123' within your scope"),
    (account_refusals.NO_PARENT["country"], {"code": "XX"}, "'XX' kodlu ülke yok", "нет страны с кодом 'XX'",
     "no country with code 'XX'"),
    (account_refusals.NO_PARENT["province"], {"code": "TR-99"}, "'TR-99' kodlu il yok", "нет области с кодом 'TR-99'",
     "no province with code 'TR-99'"),
    (live_refusals.RANGE_HOURS, {"hours": 24}, "aralık en fazla 24 saat olabilir",
     "интервал может длиться не более 24 ч", "the range may be at most 24 hours long"),
    (live_refusals.AT_MOST, {"max_length": 500}, "en fazla 500 karakter", "не более 500 символов",
     "at most 500 characters"),
    (live_refusals.CAMERAS_TOGETHER, {"most": 9}, "en fazla 9 kamera birlikte oynatılabilir",
     "одновременно воспроизводится не более 9 камер", "at most 9 cameras play back together"),
    (live_refusals.REPLAY_SECONDS, {"most": 3600}, "1 ile 3600 arasında bir saniye sayısı", "число секунд от 1 до 3600",
     "a number of seconds from 1 to 3600"),
    (live_refusals.SIDE, {"most": 6}, "1 ile 6 arasında olmalı", "должно быть от 1 до 6", "must be between 1 and 6"),
    (live_refusals.OUTSIDE_GRID, {"rows": 2, "cols": 3}, "2×3 ızgaranın dışında kalıyor",
     "выходит за пределы сетки 2×3", "lies outside the 2×3 grid"),
    (live_refusals.OVERLAPS, {"tile": 0}, "0. kutuyla çakışıyor", "перекрывает ячейку 0", "overlaps tile 0"),
    (live_refusals.NOT_WATCHING, {"role": "auditor"}, "'auditor' rolü canlı görüntü izlemiyor",
     "роль 'auditor' не смотрит живое видео", "role 'auditor' does not watch live video"),
    (live_refusals.CAMERAS_AT_A_TIME, {"most": 64}, "bir seferde en fazla 64 kamera", "не более 64 камер за раз",
     "at most 64 cameras at a time"),
    (live_refusals.NO_CAMERA, {"camera": 12}, "12 numaralı kamera yok", "нет камеры 12", "no camera 12"),
    (camera_service.NO_RECORDER, {"site": "760123", "recorder": "nvr-2"},
     "'760123' yerleşkesinde 'nvr-2' adlı kayıt cihazı yok", "на объекте '760123' нет видеорегистратора 'nvr-2'",
     "site '760123' has no recorder 'nvr-2'"),
    (export_service.CAMERAS_IN_EXPORT, {"most": 16}, "bir dışa aktarımda en fazla 16 kamera",
     "не более 16 камер в одном экспорте", "at most 16 cameras in one export"),
    (export_service.RANGE_MINUTES, {"minutes": 30}, "aralık en fazla 30 dakika olabilir",
     "интервал может длиться не более 30 мин", "the range may be at most 30 minutes long"),
    (audit_export.NOT_CHECKPOINT, {"problem": "each line must be a JSON object"},
     "denetim kontrol noktası kaydı değil: each line must be a JSON object",
     "не запись контрольной точки: each line must be a JSON object",
     "not a checkpoint record: each line must be a JSON object"),
    (audit_export.NOT_EXPORT, {"problem": "'seq'"}, "kgys denetim dışa aktarımı değil: 'seq'",
     "не экспорт журнала аудита kgys: 'seq'", "not a kgys audit export: 'seq'"),
    (hold_flows.NOT_AT_SITE, {"camera": 4, "site": "760123"}, "4 numaralı kamera '760123' yerleşkesinde değil",
     "камера 4 не находится на объекте '760123'", "camera 4 is not at site '760123'"),
    (lockdown.NOT_SENDERS, {"code": "760123"}, "gönderenin yetki alanında 760123 kodlu yerleşke yok",
     "в зоне ответственности отправителя нет объекта 760123", "no site 760123 within the sender's scope"),
    (lockdown.AT_MOST, {"max_length": 500}, "en fazla 500 karakter", "не более 500 символов",
     "at most 500 characters"),
    (alert_service.UNKNOWN_MOVE, {"move": "'jump'"}, "bilinmeyen işlem 'jump'", "неизвестное действие 'jump'",
     "unknown move 'jump'"),
]


@pytest.mark.parametrize(("said", "params", "tr", "ru", "en"), REFUSED, ids=[s[0].msgid[:40] for s in REFUSED])
def test_a_form_s_refusal_is_said_in_the_reader_s_language(speak: Any, said: Said, params: dict[str, Any], tr: str,
                                                           ru: str, en: str) -> None:
    refused = FieldError.said("f", said, **params)
    assert refused.message == en  # the API's and the log's words
    for lang, expected in (("tr", tr), ("ru", ru), ("en", en)):
        speak(lang)
        assert forms.service_errors([refused]) == {"f": expected}, lang
        assert error_text.field_messages([refused.as_dict()], lang)[0]["message"] == expected, f"{lang}, error page"
