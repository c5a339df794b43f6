"""Lawful access to footage: requests, judicial decisions, approvals, redaction and the signed evidence package."""
