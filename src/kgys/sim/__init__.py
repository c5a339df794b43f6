"""Simulated devices for the demo, development and tests: cameras served over real RTSP, panic buttons on the
real MQTT broker."""
