"""Dispatch: units (teams), their status and positions, the nearest suitable unit recommended, assignments."""
