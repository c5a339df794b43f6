"""What live video, playback and the wall say when they refuse a range, a grid, a tile or a reason: sentences
built around the values at fault (:mod:`kgys.said`), said again on a page in its reader's language."""

from __future__ import annotations

from kgys.said import _

RANGE_HOURS = _("the range may be at most %(hours)s hours long")
AT_MOST = _("at most %(max_length)s characters")
CAMERAS_TOGETHER = _("at most %(most)s cameras play back together")
REPLAY_SECONDS = _("a number of seconds from 1 to %(most)s")
SIDE = _("must be between 1 and %(most)s")
OUTSIDE_GRID = _("lies outside the %(rows)s×%(cols)s grid")
OVERLAPS = _("overlaps tile %(tile)s")
NOT_WATCHING = _("role '%(role)s' does not watch live video")
CAMERAS_AT_A_TIME = _("at most %(most)s cameras at a time")
NO_CAMERA = _("no camera %(camera)s")
OUTSIDE_REQUEST = _("playback for an investigation only within the scope of your footage request, approved under a "
                    "decision still valid; this camera and range are not")
