"""Users, roles, jurisdiction scopes, sessions, API tokens and the second factor."""
