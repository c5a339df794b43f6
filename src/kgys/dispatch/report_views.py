"""Dispatch reports: response times by district, shift, priority and unit kind, and units' utilisation — the API
(JSON and CSV) and the page with its CSV downloads in the user's language."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request, Response

from kgys import localtime
from kgys.alerts.views import CSV_ANSWER, EndQuery, StartQuery, csv_answer, period_headers
from kgys.db import utcnow
from kgys.dispatch import reports
from kgys.dispatch.report_schemas import (
    FigureOut,
    MissedOut,
    ResponseLineOut,
    ResponseReportOut,
    UseOut,
    UtilisationOut,
)
from kgys.errors import ValidationFailed
from kgys.web import i18n, labels
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, CurrentPrincipal, runtime
from kgys.web.forms import local_time, service_errors
from kgys.web.render import reader_zone, render
from kgys.web.routing import Router

router = Router(tags=["dispatch"])
pages = Router(include_in_schema=False)


def line_out(line: reports.Line, names: tuple[str, ...] = reports.INCIDENT_FIGURES) -> ResponseLineOut:
    """The API shape of a line of the response report."""
    return ResponseLineOut(key=line.key, label=line.label, count=line.count, figures={
        f: FigureOut(count=line.n(f), p50=line.p(f, 50), p90=line.p(f, 90)) for f in names})


def response_out(r: reports.ResponseReport, where: ZoneInfo) -> ResponseReportOut:
    """The API shape of the response report (its period also in the reader's zone ``where``)."""
    return ResponseReportOut(
        start=r.start, end=r.end, **localtime.local_period(r.start, r.end, where), time_zone=r.time_zone,
        target_dispatch_seconds=r.target_seconds,
        dispatched_within_target=r.within, counted=r.counted, within_target_share=r.within_share,
        missed=[MissedOut(number=m.number, priority=m.priority, district=m.district, reported_at=m.reported_at,
                          dispatched_at=m.dispatched_at, seconds=m.seconds) for m in r.missed],
        by_district=[line_out(x) for x in r.by_district], by_shift=[line_out(x) for x in r.by_shift],
        by_priority=[line_out(x) for x in r.by_priority],
        by_unit_kind=[line_out(x, reports.UNIT_FIGURES) for x in r.by_unit_kind], total=line_out(r.total))


def use_out(use: reports.Use) -> UseOut:
    """The API shape of a unit's (or a kind's) utilisation."""
    return UseOut(key=use.key, kind=use.kind, district=use.district, station=use.station, units=use.units,
                  observed_seconds=use.observed, seconds=dict(use.seconds),
                  shares={s: use.share(s) for s in reports.STATUSES}, assignments=use.assignments)


@router.get("/dispatch/reports/response", response_model=ResponseReportOut, response_model_by_alias=True,
            responses=errors(422))
def response_report(request: Request, session: DB, actor: CurrentActor, start: StartQuery = None,
                    end: EndQuery = None) -> ResponseReportOut:
    """Response times (count, p50, p90 in seconds) of the incidents reported in the period (default: the last
    7 days) by district, shift, priority and unit kind, and the incidents not dispatched within the target."""
    start, end = reports.period(start, end)
    return response_out(reports.response(session=session, actor=actor, start=start, end=end,
                                         settings=runtime(request).settings.dispatch), reader_zone(request))


@router.get("/dispatch/reports/response.csv", response_class=Response, responses={**CSV_ANSWER, **errors(422)})
def response_report_csv(request: Request, session: DB, actor: CurrentActor, start: StartQuery = None,
                        end: EndQuery = None) -> Response:
    """The response times as CSV, a line per group (columns named as the JSON report's fields)."""
    start, end = reports.period(start, end)
    r = reports.response(session=session, actor=actor, start=start, end=end,
                         settings=runtime(request).settings.dispatch)
    return csv_answer(reports.response_csv(r, where=reader_zone(request)), f"response-{start:%Y%m%d}-{end:%Y%m%d}.csv")


@router.get("/dispatch/reports/utilisation", response_model=UtilisationOut, response_model_by_alias=True,
            responses=errors(422))
def utilisation_report(request: Request, session: DB, actor: CurrentActor, start: StartQuery = None,
                       end: EndQuery = None) -> UtilisationOut:
    """Per unit and per kind: the share of the period (default: the last 7 days; to now while it lasts) spent
    in each status, and the assignments made in it."""
    start, end = reports.period(start, end)
    u = reports.utilisation(session=session, actor=actor, start=start, end=end)
    return UtilisationOut(start=u.start, end=u.end, **localtime.local_period(u.start, u.end, reader_zone(request)),
                          units=[use_out(x) for x in u.units],
                          kinds=[use_out(x) for x in u.kinds])


@router.get("/dispatch/reports/utilisation.csv", response_class=Response, responses={**CSV_ANSWER, **errors(422)})
def utilisation_report_csv(request: Request, session: DB, actor: CurrentActor, start: StartQuery = None,
                           end: EndQuery = None) -> Response:
    """The utilisation as CSV, a line per unit and per kind (columns named as the JSON report's fields)."""
    start, end = reports.period(start, end)
    u = reports.utilisation(session=session, actor=actor, start=start, end=end)
    return csv_answer(reports.utilisation_csv(u, where=reader_zone(request)),
                      f"utilisation-{start:%Y%m%d}-{end:%Y%m%d}.csv")


# --- the page ------------------------------------------------------------------------------------------------------


def figure_labels() -> dict[str, str]:
    """The response times' names, in the request's language."""
    return {"to_dispatch": i18n.gettext("Call to dispatch"),
            "to_acknowledge": i18n.gettext("Dispatch to acknowledgement"),
            "to_en_route": i18n.gettext("Dispatch to en route"), "to_arrive": i18n.gettext("Call to arrival"),
            "on_scene": i18n.gettext("On scene to clear"), "to_close": i18n.gettext("Call to close")}


def _reports_of(request: Request, session: DB, p: CurrentPrincipal) -> tuple[
        reports.ResponseReport | None, reports.Utilisation | None, dict[str, str], dict[str, str]]:
    """The reports the query asks for (default: the last 7 days), their errors and the period's filters."""
    q = request.query_params
    problems: dict[str, str] = {}
    end = utcnow()
    start = end - timedelta(days=reports.DEFAULT_DAYS)
    response, use = None, None
    where = reader_zone(request)
    typed_start = local_time(q.get("from"), where, "from", problems)
    typed_end = local_time(q.get("to"), where, "to", problems)
    if not problems:
        try:
            start, end = reports.period(typed_start, typed_end, end)
            response = reports.response(session=session, actor=p.actor, start=start, end=end,
                                        settings=runtime(request).settings.dispatch)
            use = reports.utilisation(session=session, actor=p.actor, start=start, end=end)
        except ValidationFailed as exc:
            problems = service_errors(exc.errors)
    filters = {"from": q.get("from", "") if "from" in problems else localtime.picker(start, where),
               "to": q.get("to", "") if "to" in problems else localtime.picker(end, where)}
    return response, use, problems, filters


@pages.get("/dispatch/reports")
def reports_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """Response times and units' utilisation of a period within the user's scope; default the last 7 days."""
    response, use, problems, filters = _reports_of(request, session, p)
    return render(request, "dispatch/reports.html", {
        "r": response, "u": use, "errors": problems, "filters": filters, "csv_query": urlencode(filters),
        "figures": reports.INCIDENT_FIGURES, "figure_labels": figure_labels(), "statuses": reports.STATUSES,
    }, p, status_code=422 if problems else 200)


def _group_label(group: str, line: reports.Line) -> str:
    if group == "all":
        return i18n.gettext("All")
    return labels.unit_kind_label(line.key) if group == "unit_kind" else line.label


@pages.get("/dispatch/reports/response.csv")
def response_csv_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The response times as CSV, with the page's column names in the user's language."""
    response, _use, _problems, _filters = _reports_of(request, session, p)
    if response is None:
        return reports_page(request, session, p)
    names = figure_labels()
    headers = {"group": i18n.gettext("Per"), "key": i18n.gettext("Code"), "label": i18n.gettext("Name"),
               "count": i18n.gettext("Incidents")}
    for f in reports.INCIDENT_FIGURES:
        headers |= {f"{f}_n": f"{names[f]}, n", f"{f}_p50": f"{names[f]}, p50 (s)",
                    f"{f}_p90": f"{names[f]}, p90 (s)"}
    return csv_answer(reports.response_csv(response, label=_group_label, headers=headers | period_headers(),
                                           where=reader_zone(request)),
                      f"response-{response.start:%Y%m%d}-{response.end:%Y%m%d}.csv")


@pages.get("/dispatch/reports/utilisation.csv")
def utilisation_csv_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The utilisation as CSV, with the page's column names in the user's language."""
    _response, use, _problems, _filters = _reports_of(request, session, p)
    if use is None:
        return reports_page(request, session, p)
    headers = {"level": i18n.gettext("Per"), "key": i18n.gettext("Call sign"), "kind": i18n.gettext("Kind"),
               "district": i18n.gettext("District"), "station": i18n.gettext("Station"),
               "units": i18n.gettext("Units"), "observed_seconds": i18n.gettext("Time observed (s)"),
               "assignments": i18n.gettext("Assignments")}
    for s in reports.STATUSES:
        name = labels.unit_status_label(s)
        headers |= {f"{s}_share": f"{name} (0-1)", f"{s}_seconds": f"{name} (s)"}
    return csv_answer(reports.utilisation_csv(use, label=labels.unit_kind_label, headers=headers | period_headers(),
                                              where=reader_zone(request)),
                      f"utilisation-{use.start:%Y%m%d}-{use.end:%Y%m%d}.csv")
