"""KADES fixtures: the web app on the test's transaction."""

from tests.web.conftest import client, token_for  # noqa: F401  (fixtures)
