"""Recorders (NVR) and cameras of each site: declared specs, compliance and the storage calculator."""
