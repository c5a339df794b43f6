"""kgys-verify: checks a kgys evidence package offline (file hashes, segment chain, signature, audit entries)."""

__version__ = "0.1.0"
