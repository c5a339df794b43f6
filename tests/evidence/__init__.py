"""Tests of lawful access to footage: requests, decisions, redaction and packages."""
