"""Evidence: footage released under judicial authority — requests, decisions, approvals, redaction, packages."""
