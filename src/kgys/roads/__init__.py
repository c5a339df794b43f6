"""The road graph: read from an OpenStreetMap extract, kept in PostgreSQL, and travel times over it (pgRouting)."""
