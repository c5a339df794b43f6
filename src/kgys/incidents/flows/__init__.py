"""Where incidents build on other domains: made of alerts, moving those alerts along."""
