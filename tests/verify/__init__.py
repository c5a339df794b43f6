"""Tests of the standalone verifier, kgys-verify."""
