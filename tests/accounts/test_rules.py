"""Who may change whose access: the pure rule, then the service applying it for API, pages and CLI alike."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from kgys.accounts import service
from kgys.accounts.rules import AccessChange, access_change_problem
from kgys.errors import Conflict, PermissionDenied
from tests import factories


@pytest.mark.parametrize(("own", "reduces", "before", "after", "others", "expected"), [
    (True, True, False, False, 0, PermissionDenied),  # own account: never
    (True, True, True, False, 3, PermissionDenied),  # …even with other administrators around
    (True, False, True, True, 0, None),  # enabling oneself changes nothing
    (False, True, True, False, 0, Conflict),  # the last nationwide administrator
    (False, True, True, False, 1, None),  # another one is left
    (False, True, True, True, 0, None),  # still an administrator afterwards
    (False, True, False, False, 0, None),  # not an administrator at all
])
def test_rule(own: bool, reduces: bool, before: bool, after: bool, others: int,
              expected: type[Exception] | None) -> None:
    problem = access_change_problem(AccessChange(own_account=own, reduces=reduces, admin_before=before,
                                                 admin_after=after, other_admins=others))
    assert (type(problem) if problem else None) is expected


def test_nobody_disables_demotes_or_descopes_themselves(session: Session) -> None:
    factories.tree(session)
    factories.user(session, "admin", scope=["TR"])  # another administrator: only the self rule applies
    me = factories.user(session, "admin", scope=["TR"])
    actor = service.actor_for(me)
    with pytest.raises(PermissionDenied, match="your own account"):
        service.set_active(session=session, actor=actor, username=me.username, active=False)
    with pytest.raises(PermissionDenied, match="your own account"):
        service.change_access(session=session, actor=actor, username=me.username, role="operator")
    with pytest.raises(PermissionDenied, match="your own account"):
        service.change_access(session=session, actor=actor, username=me.username, jurisdiction_codes=["TR-99"])
    assert me.is_active and me.role == "admin" and service.scope_of(me).is_global


def test_the_last_active_administrator_stays_one(session: Session) -> None:
    factories.tree(session)
    only = factories.user(session, "admin", scope=["TR"])
    factories.user(session, "admin", scope=["TR-99"])  # an administrator, but not nationwide
    cli = factories.admin()  # the command line acts as a system actor, and is held to the same rule
    with pytest.raises(Conflict, match="last active administrator"):
        service.set_active(session=session, actor=cli, username=only.username, active=False)
    with pytest.raises(Conflict, match="last active administrator"):
        service.change_access(session=session, actor=cli, username=only.username, role="auditor")
    with pytest.raises(Conflict, match="last active administrator"):
        service.change_access(session=session, actor=cli, username=only.username, jurisdiction_codes=["TR-99"])
    assert only.is_active and only.role == "admin"
    second = factories.user(session, "admin", scope=["TR"])
    service.set_active(session=session, actor=cli, username=only.username, active=False)  # now it may go
    with pytest.raises(Conflict, match="last active administrator"):
        service.set_active(session=session, actor=cli, username=second.username, active=False)
