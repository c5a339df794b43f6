"""Accounts: scope of user management, password rules, token lifetime."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from kgys.accounts import passwords, service
from kgys.config import SecuritySettings
from kgys.errors import NotFound, ValidationFailed
from tests import factories


def test_district_admin_cannot_create_users_outside_its_scope(session: Session) -> None:
    factories.tree(session)
    boss = service.actor_for(factories.user(session, "admin", scope=["TR-99-A"]))
    with pytest.raises(ValidationFailed, match="outside your scope"):
        service.create_user(session=session, actor=boss, username="wide", password="lilac-orbit-7-tundra",
                            role="admin", jurisdiction_codes=["TR"])
    with pytest.raises(ValidationFailed, match="outside your scope"):
        service.create_user(session=session, actor=boss, username="other", password="lilac-orbit-7-tundra",
                            role="operator", jurisdiction_codes=["TR-98-C"])
    made = service.create_user(session=session, actor=boss, username="local", password="lilac-orbit-7-tundra",
                               role="operator", jurisdiction_codes=["TR-99-A"])
    assert made.role == "operator"


def test_district_admin_sees_and_manages_only_its_users(session: Session) -> None:
    factories.tree(session)
    boss = service.actor_for(factories.user(session, "admin", scope=["TR-99-A"]))
    mine = factories.user(session, "operator", scope=["TR-99-A"])
    theirs = factories.user(session, "operator", scope=["TR-98-C"])
    wide = factories.user(session, "supervisor", scope=["TR-99"])
    visible = {u.username for u in service.list_users(session=session, actor=boss)}
    assert mine.username in visible
    assert theirs.username not in visible and wide.username not in visible
    with pytest.raises(NotFound):
        service.set_active(session=session, actor=boss, username=theirs.username, active=False)
    with pytest.raises(NotFound):
        service.reset_password(session=session, actor=boss, username=wide.username, password="quiet-meadow-58-lantern")
    assert service.set_active(session=session, actor=boss, username=mine.username, active=False).is_active is False


@pytest.mark.parametrize(("password", "message"), [
    ("short1", passwords.TOO_SHORT),
    (" " * 10, passwords.BLANK),
    ("Password123!", passwords.WEAK),
    ("1234567890123", passwords.WEAK),
    ("Galatasaray1905", passwords.WEAK),
    ("zayif.kullanici-2026!", passwords.HAS_NAME),
])
def test_weak_passwords_are_refused(session: Session, password: str, message: str) -> None:
    factories.tree(session)
    with pytest.raises(ValidationFailed) as info:
        service.create_user(session=session, actor=factories.admin(), username="zayif.kullanici", password=password,
                            role="operator", jurisdiction_codes=["TR-99-A"])
    assert [(e.field, e.message) for e in info.value.errors] == [("password", message)]
    u = factories.user(session, "operator")
    with pytest.raises(ValidationFailed) as info:
        service.reset_password(session=session, actor=factories.admin(), username=u.username,
                               password=password.replace("zayif.kullanici", u.username))
    assert [e.field for e in info.value.errors] == ["password"]


def test_the_strength_threshold_is_a_setting(session: Session) -> None:
    factories.tree(session)
    lenient = SecuritySettings(password_min_score=1)
    made = service.create_user(session=session, actor=factories.admin(), username="lenient", password="Password123!",
                               role="operator", jurisdiction_codes=["TR-99-A"], settings=lenient)
    assert made.username == "lenient"


def test_school_administrator_scoped_to_one_site_by_code(session: Session) -> None:
    from kgys.sites import service as site_service
    from kgys.sites.schemas import SiteFilter

    factories.tree(session)
    school = factories.site(session)
    factories.site(session)  # a neighbour in the same district
    u = service.create_user(session=session, actor=factories.admin(), username="mudur", password="lilac-orbit-7-tundra",
                            role="school_admin", site_codes=[school.code])
    rows, total = site_service.list_sites(session=session, actor=service.actor_for(u), filters=SiteFilter())
    assert total == 1 and rows[0].code == school.code
    with pytest.raises(ValidationFailed, match="no site with institution code"):
        service.create_user(session=session, actor=factories.admin(), username="mudur2",
                            password="lilac-orbit-7-tundra",
                            role="school_admin", site_codes=["NOPE"])
