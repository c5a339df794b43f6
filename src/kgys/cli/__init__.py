"""The ``kgys`` command line."""
