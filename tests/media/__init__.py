"""Tests of the recording domain."""
