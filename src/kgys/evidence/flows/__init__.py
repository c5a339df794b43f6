"""Where evidence builds on other domains: cameras and sites within the caller's scope, legal holds on the
requested footage (:mod:`kgys.recording.holds`) and the audit log."""
