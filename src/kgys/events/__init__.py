"""Events between processes: what one process publishes, every server process shows.

An event is written in the publisher's own transaction (:func:`kgys.events.bus.publish`), so it exists exactly
when what it tells of was committed, and it carries a sequence number that orders it. A server reads what
followed the last number it saw (:class:`kgys.events.hub.Hub`) and fans it out to its connected consoles; a
console that reconnects names the last number it saw and is sent what it missed. On the embedded default the
database itself carries the events; at scale a relay copies them to NATS JetStream (:mod:`kgys.events.nats`),
and consumers drop what they already saw by the event's id.
"""
