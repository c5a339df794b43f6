"""Footage exports: several cameras over one range, asked for once with a reason, built by the jobs worker into
a zip (one MP4 per camera and a manifest of hashes) that its requester downloads until it expires."""
