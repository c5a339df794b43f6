"""Incidents: what operators make of one or several alerts, with a category, priority, place and timeline."""
