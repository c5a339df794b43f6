"""Tests of footage exports."""
