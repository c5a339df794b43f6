"""Who is acting, and where: the identity every service call carries. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Actor:
    """The user (or system process) on whose behalf a service acts."""

    id: int | None
    username: str
    role: str
    scope: Scope

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
