"""Tests of live view and playback."""
