"""Every stored code of an enum — audit action, alert kind, state and source, gap cause, role, roll-out step,
site type — has one label, translated into Turkish, English and Russian; and every change the audit mechanism can record
is a known action."""

from __future__ import annotations

from enum import StrEnum

import pytest

from kgys.accounts.permissions import Role
from kgys.alerts.cap import CapKind
from kgys.alerts.states import Source, State
from kgys.audit.actions import AuditAction, changed
from kgys.audit.mechanism import Audited
from kgys.devices.kinds import DeviceAlertKind
from kgys.dispatch.kinds import DispatchAlertKind
from kgys.dispatch.states import AssignmentState, UnitKind, UnitStatus
from kgys.incidents.states import Category, IncidentState, Outcome
from kgys.kades.service import KadesKind
from kgys.models import Base  # noqa: F401  (every model registered)
from kgys.recording.alerts import AlertKind
from kgys.recording.gaps import GapCause
from kgys.sites.rollout import RolloutStatus, SiteType
from kgys.web import i18n, labels
from tests.web.test_translations import catalogue

TABLES: list[tuple[type[StrEnum], dict[str, str]]] = [
    (AuditAction, dict(labels.ACTION_LABELS)),
    (AlertKind, {k: v for k, v in labels.ALERT_KIND_LABELS.items() if isinstance(k, AlertKind)}),
    (DeviceAlertKind, {k: v for k, v in labels.ALERT_KIND_LABELS.items() if isinstance(k, DeviceAlertKind)}),
    (KadesKind, dict(labels.KADES_KIND_LABELS)),
    (CapKind, dict(labels.CAP_KIND_LABELS)),
    (State, dict(labels.ALERT_STATE_LABELS)),
    (Source, dict(labels.ALERT_SOURCE_LABELS)),
    (GapCause, dict(labels.GAP_CAUSE_LABELS)),
    (Role, dict(labels.ROLE_LABELS)),
    (RolloutStatus, dict(labels.ROLLOUT_LABELS)),
    (SiteType, dict(labels.SITE_TYPE_LABELS)),
    (DispatchAlertKind, dict(labels.DISPATCH_KIND_LABELS)),
    (UnitKind, dict(labels.UNIT_KIND_LABELS)),
    (UnitStatus, dict(labels.UNIT_STATUS_LABELS)),
    (AssignmentState, dict(labels.ASSIGNMENT_STATE_LABELS)),
    (IncidentState, dict(labels.INCIDENT_STATE_LABELS)),
    (Category, dict(labels.INCIDENT_CATEGORY_LABELS)),
    (Outcome, dict(labels.INCIDENT_OUTCOME_LABELS)),
]


@pytest.mark.parametrize(("enum", "table"), TABLES, ids=lambda v: getattr(v, "__name__", ""))
def test_every_member_has_a_label(enum: type[StrEnum], table: dict[str, str]) -> None:
    assert sorted(table) == sorted(enum), f"{enum.__name__}: labels and members differ"


@pytest.mark.parametrize("lang", ["tr", "en", "ru"])
def test_every_label_is_in_each_catalogue(lang: str) -> None:
    cat = catalogue(lang)
    missing = [msgid for _enum, table in TABLES for msgid in table.values() if cat.get(msgid) is None]
    assert missing == [], f"{lang}: no entry for {missing}"
    if lang != "en":
        untranslated = [msgid for _enum, table in TABLES for msgid in table.values() if not cat[msgid].string]
        assert untranslated == [], f"{lang}: not translated: {untranslated}"


def test_labels_are_shown_in_the_request_language() -> None:
    catalogues = i18n.load_catalogues()
    i18n.activate(catalogues["tr"])
    try:
        assert labels.alert_kind_label(AlertKind.RECORDER_DOWN) != "Recorder down"
        assert labels.action_label("site.create") == catalogue("tr")["Site registered"].string
        assert labels.gap_cause_label("no_such_cause") == "no_such_cause"  # an unknown code shows as it is
    finally:
        i18n.activate(catalogues["en"])


def _audited() -> list[type[Audited]]:
    found: list[type[Audited]] = []
    todo: list[type[Audited]] = [Audited]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__audit_type__:
                found.append(sub)
    return found


def test_every_change_the_mechanism_records_is_a_known_action() -> None:
    types = {model.__audit_type__ for model in _audited()}
    assert {"site", "camera", "legal_hold", "device"} <= types
    unknown = [changed(t, op) for t in sorted(types) for op in ("create", "update", "delete")
               if changed(t, op) not in set(AuditAction)]
    assert unknown == []
