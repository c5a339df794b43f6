"""Places on the earth: the distance between two, and where Türkiye is (the bounds a position must lie within to be
taken: a protected person's phone, a unit)."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # the mean radius

# Türkiye with a margin: a fix outside is a device abroad or a bad fix
LATITUDES, LONGITUDES = (35.5, 42.5), (25.4, 45.0)


def in_turkey(latitude: float, longitude: float) -> bool:
    """Whether a position lies within Türkiye's bounds."""
    return LATITUDES[0] <= latitude <= LATITUDES[1] and LONGITUDES[0] <= longitude <= LONGITUDES[1]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
