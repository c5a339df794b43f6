"""Who may change whose access: nobody disables, demotes or narrows their own account, and the last active
administrator with nationwide scope stays one. Pure: the service gathers the facts, this decides.

The messages are UI texts: pages show them in the user's language."""

from __future__ import annotations

from dataclasses import dataclass

from kgys.errors import Conflict, KgysError, PermissionDenied


def _(text: str) -> str:
    """Marks a UI text for the catalogues; pages translate it where they show it."""
    return text


OWN_ACCOUNT = _("You may not disable your own account or change its role or scope; ask another administrator.")
LAST_ADMIN = _("This is the last active administrator with nationwide scope; make another user one first, or "
               "nobody could manage the system.")


@dataclass(frozen=True)
class AccessChange:
    """The facts of one change to a user's active flag, role or scope."""

    own_account: bool  # the actor changes their own account
    reduces: bool  # the change disables, changes the role or changes the scope
    admin_before: bool  # the user is an active administrator with nationwide scope now
    admin_after: bool  # …and would still be one after the change
    other_admins: int  # how many other active administrators with nationwide scope there are


def access_change_problem(change: AccessChange) -> KgysError | None:
    """The error that refuses ``change``, or None when it may go ahead."""
    if change.own_account and change.reduces:
        return PermissionDenied(OWN_ACCOUNT)
    if change.admin_before and not change.admin_after and change.other_admins == 0:
        return Conflict(LAST_ADMIN)
    return None
