"""The HTTP face: app factory, request dependencies, templates and translations."""
