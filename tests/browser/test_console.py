"""The operations console in Chromium against a real ``kgys serve``: an alert raised by another process appears on
a signed-in operator's console within seconds, red and first; the operator takes it on with one key and closes it;
after the stream drops the console reconnects and shows what came meanwhile."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import DemoServer, sign_in

from kgys.accounts.models import User
from kgys.accounts.service import actor_for
from kgys.alerts import raising, service
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Move, Priority, Source
from kgys.recording import alerts as recording_alerts
from kgys.recording import gaps
from kgys.runtime import Runtime
from kgys.sites.models import Site

SHOWN_WITHIN_MS = 20_000  # generous: the machine is shared


def _raise(rt: Runtime, priority: Priority = Priority.P1, **kw: object) -> int:
    device = uuid.uuid4().hex[:8]
    with rt.sessions.begin() as session:
        site_id = session.scalars(select(Site.id).order_by(Site.id)).first()
        alert = raising.raise_alert(session, Alarm(
            source=Source.PANIC, kind="panic_press", priority=priority, site_id=site_id, device=device,
            details=f"Oda {device[:3]}", dedup_key=f"panic:{device}", **kw))  # type: ignore[arg-type]
        return alert.id


def test_a_press_reaches_the_console_and_is_taken_on_and_closed(page: Page, server: DemoServer,
                                                                other_process: Runtime) -> None:
    sign_in(page, server, "operator")
    page.goto("/console")
    expect(page.locator("#console-link")).to_have_attribute("data-state", "live", timeout=SHOWN_WITHIN_MS)
    quiet = _raise(other_process, Priority.P3)
    urgent = _raise(other_process, position=Position(39.93, 32.86, 40.0))
    item = page.locator(f"li.queue-item[data-alert='{urgent}']")
    expect(item).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(item).to_have_class(re.compile(r"\bprio-1\b"))
    expect(page.locator(f"li.queue-item[data-alert='{quiet}']")).to_be_visible()
    order = [int(x) for x in page.locator("li.queue-item").evaluate_all("els => els.map(e => e.dataset.alert)")]
    assert order.index(urgent) < order.index(quiet)  # P1 before P3, whenever raised

    item.click()
    expect(page.locator("#alert-card")).to_be_visible()
    expect(page.locator("path.leaflet-interactive")).to_have_count(1)  # the accuracy circle
    page.keyboard.press("c")
    expect(item).to_have_attribute("data-state", "claimed", timeout=SHOWN_WITHIN_MS)
    assert server.scalar("SELECT claimed_by_name FROM alerts WHERE id = ?", urgent) == "operator"

    page.select_option("#card-outcome", "false_alarm")
    page.keyboard.press("r")
    expect(item).to_have_count(0, timeout=SHOWN_WITHIN_MS)
    assert server.scalar("SELECT state FROM alerts WHERE id = ?", urgent) == "false_alarm"
    assert server.scalar("SELECT count(*) FROM audit_entries WHERE action = 'alert.resolve' AND object_id = ?",
                         str(urgent)) == 1


def test_a_recording_alarm_reads_in_the_reader_s_language_on_the_card(page: Page, server: DemoServer,
                                                                      other_process: Runtime) -> None:
    """The recorder stores its alarm in English with its code; the stream carries the English, the card says it
    in the operator's language."""
    sign_in(page, server, "operator")
    page.goto("/console?lang=ru")
    expect(page.locator("#console-link")).to_have_attribute("data-state", "live", timeout=SHOWN_WITHIN_MS)
    with other_process.sessions.begin() as session:
        site_id = session.scalars(select(Site.id).order_by(Site.id)).first()
        alert = recording_alerts.raise_alert(
            session, kind=recording_alerts.AlertKind.RECORDING_STOPPED, severity=recording_alerts.Severity.CRITICAL,
            subject=recording_alerts.Subject(site_id=site_id), said=recording_alerts.STOPPED,
            params={"cause": "camera_offline", "detail": gaps.UNREACHABLE.english(line="Connection refused")})
        alert_id = alert.id
    item = page.locator(f"li.queue-item[data-alert='{alert_id}']")
    expect(item).to_be_visible(timeout=SHOWN_WITHIN_MS)
    item.click()
    expect(page.locator("#card-details")).to_have_text(
        "камера перестала записывать (Камера недоступна): камера недоступна: Connection refused",
        timeout=SHOWN_WITHIN_MS)


def test_the_console_reconnects_and_shows_what_came_meanwhile(page: Page, server: DemoServer,
                                                             other_process: Runtime) -> None:
    sign_in(page, server, "operator")
    page.goto("/console")
    expect(page.locator("#console-link")).to_have_attribute("data-state", "live", timeout=SHOWN_WITHIN_MS)
    page.evaluate("window.kgysConsole.drop()")
    missed = _raise(other_process)
    expect(page.locator(f"li.queue-item[data-alert='{missed}']")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(page.locator("#console-link")).to_have_attribute("data-state", "live", timeout=SHOWN_WITHIN_MS)
    assert page.locator(f"li.queue-item[data-alert='{missed}']").count() == 1  # shown once


def test_a_second_operator_is_told_who_took_it(page: Page, server: DemoServer, other_process: Runtime) -> None:
    alert_id = _raise(other_process)
    with other_process.sessions.begin() as session:
        supervisor = session.scalars(select(User).where(User.username == "supervisor")).one()
        service.act(session=session, actor=actor_for(supervisor), alert_id=alert_id, move=Move.CLAIM)
    sign_in(page, server, "operator")
    page.goto("/console")
    item = page.locator(f"li.queue-item[data-alert='{alert_id}']")
    expect(item).to_be_visible(timeout=SHOWN_WITHIN_MS)
    item.click()
    page.keyboard.press("a")
    expect(page.locator("#card-error")).to_contain_text("supervisor", timeout=SHOWN_WITHIN_MS)
