"""Append-only, hash-chained audit log with signed checkpoints and independent verification."""
