"""Devices at schools: panic buttons and door/turnstile controllers, their registry, credentials and health,
and the intake of what they send over MQTT into the alert queue (see docs/devices.md)."""
