"""The person-readable sentence and title for each compliance check, in the request's language."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kgys.cameras import compliance as rules
from kgys.web import i18n


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" (+{len(names) - 5})" if len(names) > 5 else "")


def _num(value: object) -> str:
    try:
        return f"{float(str(value)):g}"
    except ValueError:
        return str(value)


def _camera_check(check: rules.Check) -> str | None:
    cams = list(check.params.get("cameras", []))
    if not check.passed and not cams:
        return i18n.gettext("No cameras are registered. Register the site's cameras.")
    n, names = len(cams), _names(cams)
    texts = {
        ("camera.megapixels", True): i18n.gettext("Every camera is at least 2 MP."),
        ("camera.resolution", True): i18n.gettext("Every camera records at least 1920×1080."),
        ("camera.poe", True): i18n.gettext("Every camera is powered over Ethernet (PoE)."),
        ("camera.night_vision", True): i18n.gettext("Every camera has night vision."),
    }
    if check.passed:
        return texts.get((check.code, True))
    fails = {
        "camera.megapixels": i18n.ngettext("%(n)s camera below 2 MP: %(names)s. Replace it.",
                                           "%(n)s cameras below 2 MP: %(names)s. Replace them.", n, n=n, names=names),
        "camera.resolution": i18n.ngettext(
            "%(n)s camera below 1920×1080: %(names)s. Set its stream to 1920×1080 or replace it.",
            "%(n)s cameras below 1920×1080: %(names)s. Set the streams to 1920×1080 or replace them.",
            n, n=n, names=names),
        "camera.poe": i18n.ngettext(
            "%(n)s camera without PoE: %(names)s. Use a PoE camera and a PoE switch.",
            "%(n)s cameras without PoE: %(names)s. Use PoE cameras and a PoE switch.", n, n=n, names=names),
        "camera.night_vision": i18n.ngettext(
            "%(n)s camera without night vision: %(names)s. Replace it with a night-vision camera.",
            "%(n)s cameras without night vision: %(names)s. Replace them with night-vision cameras.",
            n, n=n, names=names),
    }
    return fails.get(check.code)


def _recorder_check(check: rules.Check) -> str | None:
    p = check.params
    names = _names(list(p.get("recorders", [])))
    ok = check.passed
    code = check.code
    if code == "recorder.present":
        return (i18n.gettext("A recorder (NVR) is registered.") if ok else
                i18n.gettext("No recorder (NVR) is registered. Register the site's recorder."))
    if code == "recorder.channels":
        if ok:
            return i18n.gettext("Recorders have %(channels)s channels (minimum %(min)s).",
                                channels=p.get("channels", "?"), min=rules.MIN_CHANNELS)
        return i18n.gettext("Recorders have only %(channels)s channels; at least %(min)s are required. "
                            "Use a 16-channel recorder.", channels=p.get("channels", "?"), min=rules.MIN_CHANNELS)
    if code == "recorder.capacity":
        return i18n.gettext("%(cameras)s cameras but only %(channels)s recorder channels. Add recorder channels.",
                            cameras=p.get("cameras", "?"), channels=p.get("channels", "?"))
    if code == "recorder.storage_supported":
        if ok:
            return i18n.gettext("The recorder supports %(tb)s TB (minimum %(min)s TB).",
                                tb=_num(p.get("tb", "?")), min=_num(rules.MIN_SUPPORTED_TB))
        return i18n.gettext("The recorder supports only %(tb)s TB; at least %(min)s TB is required. "
                            "Use a recorder that takes more disks.",
                            tb=_num(p.get("tb", "?")), min=_num(rules.MIN_SUPPORTED_TB))
    if code == "recorder.remote_viewing":
        return (i18n.gettext("Recordings can be viewed over the internet.") if ok else
                i18n.gettext("Remote (internet) viewing is off on: %(names)s. Turn it on.", names=names))
    if code == "recorder.continuous":
        return (i18n.gettext("Recording is continuous (24/7).") if ok else
                i18n.gettext("Recording is not 24/7 on: %(names)s. Set continuous recording.", names=names))
    if code == "recorder.retention":
        return (i18n.gettext("Recorders keep recordings for at least %(days)s days.", days=rules.MIN_DAYS) if ok
                else i18n.gettext("Retention is below %(days)s days on: %(names)s. Set it to at least %(days)s days.",
                                  days=rules.MIN_DAYS, names=names))
    if code == "recorder.storage_days":
        tb, days = _num(p.get("installed_tb", "?")), _num(p.get("days", "?"))
        if ok:
            return i18n.gettext("The installed %(tb)s TB holds %(days)s days at the declared bitrates.",
                                tb=tb, days=days)
        return i18n.gettext("The installed %(tb)s TB holds only %(days)s days at the declared bitrates; add disks "
                            "or lower each camera to %(kbps)s kbit/s to reach %(min)s days.",
                            tb=tb, days=days, kbps=p.get("max_kbps_per_camera", "?"), min=rules.MIN_DAYS)
    return None


def stream_problems(problem: dict[str, Any] | rules.StreamSpec) -> list[str]:
    """Sentences for what a measured stream does wrong, naming the camera and both values."""
    p = problem if isinstance(problem, dict) else {
        "camera": problem.name, "sent": problem.sent, "declared": problem.declared, "codec": problem.codec or "",
        "declared_codec": problem.declared_codec, "failed": list(problem.failed)}
    failed = p.get("failed", [])
    out: list[str] = []
    if "resolution_declared" in failed:
        out.append(i18n.gettext("%(camera)s sends %(sent)s, declared %(declared)s.", camera=p.get("camera", "?"),
                                sent=p.get("sent", "?"), declared=p.get("declared", "?")))
    elif "resolution_minimum" in failed:
        out.append(i18n.gettext("%(camera)s sends %(sent)s, below the minimum %(min)s.", camera=p.get("camera", "?"),
                                sent=p.get("sent", "?"), min=f"{rules.MIN_WIDTH}×{rules.MIN_HEIGHT}"))
    if "codec_declared" in failed:
        out.append(i18n.gettext("%(camera)s sends %(codec)s, declared %(declared)s.", camera=p.get("camera", "?"),
                                codec=p.get("codec", "?"), declared=p.get("declared_codec", "?")))
    return out


def _stream_check(check: rules.Check) -> str:
    if check.passed:
        return i18n.gettext("%(n)s measured camera stream(s) send what was declared, at least 1920×1080.",
                            n=check.params.get("measured", "?"))
    sentences = [x for p in check.params.get("problems", []) for x in stream_problems(p)]
    return " ".join(sentences) + " " + i18n.gettext("Set the streams as declared, or correct the declared specs.")


def check_text(check: rules.Check) -> str:
    """The sentence a person reads for one compliance check: what passed, or what failed and what to do."""
    code = check.code
    text: str | None = None
    if code == "system.present":
        text = (i18n.gettext("A camera system is registered.") if check.passed else
                i18n.gettext("The site has no camera system registered. Register its recorder and cameras."))
    elif code.startswith("camera."):
        text = _camera_check(check)
    elif code == "coverage.front":
        text = (i18n.gettext("The school's front (entrance or street) is covered.") if check.passed else
                i18n.gettext("No camera covers the entrance or the street in front of the school. Add one."))
    elif code == "coverage.surroundings":
        text = (i18n.gettext("The surroundings (perimeter, yard or street) are covered.") if check.passed else
                i18n.gettext("No camera covers the perimeter, yard or street around the school. Add one."))
    elif code.startswith("recorder."):
        text = _recorder_check(check)
    elif code == "stream.measured":
        text = _stream_check(check)
    return text or check.message


def check_title(code: str) -> str:
    """The short name of a compliance check."""
    titles = {
        "system.present": i18n.gettext("Camera system registered"),
        "camera.megapixels": i18n.gettext("Cameras at least 2 MP"),
        "camera.resolution": i18n.gettext("Cameras at least 1920×1080"),
        "camera.poe": i18n.gettext("Cameras powered over Ethernet (PoE)"),
        "camera.night_vision": i18n.gettext("Cameras with night vision"),
        "coverage.front": i18n.gettext("Front of the school covered"),
        "coverage.surroundings": i18n.gettext("Surroundings covered"),
        "recorder.present": i18n.gettext("Recorder (NVR) registered"),
        "recorder.channels": i18n.gettext("Recorder has at least 16 channels"),
        "recorder.capacity": i18n.gettext("Enough recorder channels for the cameras"),
        "recorder.storage_supported": i18n.gettext("Recorder supports at least 12 TB"),
        "recorder.remote_viewing": i18n.gettext("Viewable over the internet"),
        "recorder.continuous": i18n.gettext("Records 24/7"),
        "recorder.retention": i18n.gettext("Keeps recordings at least 30 days"),
        "recorder.storage_days": i18n.gettext("Installed storage holds 30 days"),
        "stream.measured": i18n.gettext("Cameras send what was declared"),
    }
    return titles.get(code, code)
