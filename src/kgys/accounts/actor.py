"""Who is acting, and where: the identity every service call carries. Pure data, no I/O (the scope also writes
itself as an SQL condition)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from kgys.accounts.permissions import Perm, allows
from kgys.errors import PermissionDenied


@dataclass(frozen=True)
class Scope:
    """The jurisdiction nodes and single sites a user may act in.

    ``paths`` are materialised jurisdiction paths such as ``/TR/TR-99/``; a site is in scope when its
    district path starts with one of them, or when its id is listed in ``site_ids``.
    """

    is_global: bool = False
    paths: tuple[str, ...] = ()
    site_ids: frozenset[int] = field(default_factory=frozenset)

    def covers(self, site_id: int, site_path: str) -> bool:
        """Whether a site (its id and its district's path) lies within this scope."""
        if self.is_global:
            return True
        return site_id in self.site_ids or any(site_path.startswith(p) for p in self.paths)

    def covers_path(self, path: str) -> bool:
        """Whether a whole jurisdiction subtree lies within this scope."""
        return self.is_global or any(path.startswith(p) for p in self.paths)

    def clause(self, path: ColumnElement[str] | InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
               site_id: ColumnElement[int] | InstrumentedAttribute[int] | InstrumentedAttribute[int | None] | None
               = None) -> ColumnElement[bool]:
        """SQL condition: rows whose district ``path`` (or ``site_id``, for rows of a site) lie within this scope
        (everything when it is country-wide)."""
        if self.is_global:
            return true()
        parts: list[ColumnElement[bool]] = [path.startswith(p, autoescape=True) for p in self.paths]
        if self.site_ids and site_id is not None:
            parts.append(site_id.in_(sorted(self.site_ids)))
        return or_(*parts) if parts else false()


def district_of(path: str | None) -> str | None:
    """The code of the last node of a jurisdiction path (``/TR/TR-99/TR-99-01/`` → ``TR-99-01``); None for none."""
    return path.rstrip("/").rsplit("/", 1)[-1] if path else None


@dataclass(frozen=True)
class Actor:
    """The user (or system process) on whose behalf a service acts."""

    id: int | None
    username: str
    role: str
    scope: Scope
    # The zone the user chose to read times in (an IANA name); None for the installation's default.
    time_zone: str | None = None

    def can(self, perm: Perm) -> bool:
        """Whether the actor's role carries ``perm``."""
        return allows(self.role, perm)

    def require(self, perm: Perm) -> None:
        """Raise PermissionDenied unless the role carries ``perm``."""
        if not self.can(perm):
            raise PermissionDenied(f"role '{self.role}' may not {perm.value}", perm=perm.value)


def system_actor(name: str = "system") -> Actor:
    """An actor for jobs and command-line administration: global scope, admin rights."""
    return Actor(id=None, username=name, role="admin", scope=Scope(is_global=True))
