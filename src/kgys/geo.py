"""Where Türkiye is: the bounds a position must lie within to be taken (a protected person's phone, a unit)."""

from __future__ import annotations

# Türkiye with a margin: a fix outside is a device abroad or a bad fix
LATITUDES, LONGITUDES = (35.5, 42.5), (25.4, 45.0)


def in_turkey(latitude: float, longitude: float) -> bool:
    """Whether a position lies within Türkiye's bounds."""
    return LATITUDES[0] <= latitude <= LATITUDES[1] and LONGITUDES[0] <= longitude <= LONGITUDES[1]
