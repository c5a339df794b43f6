"""Tests of the evidence domain."""
