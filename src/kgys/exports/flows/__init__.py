"""Where footage exports build on other domains: cameras and their scope, the segment index, the clip joiner and
the audit log."""
