"""The intake's link to Mosquitto over MQTT 3.1.1 (paho-mqtt), and the clients of a device and of a unit's tracker
for the simulators.

The intake connects with a fixed client id and ``clean_session=False`` and subscribes at QoS 1, so the broker
keeps its session — and every message that arrives while it is down — until it comes back; acknowledgements are
manual (:meth:`MqttLink.ack`), sent only after the message is stored. paho and its exceptions stay in this module.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from kgys.devices import payloads
from kgys.devices.link import BrokerError, Received, Sent
from kgys.devices.mosquitto import CHANNELS

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0


def _client(client_id: str, username: str, password: str, *, manual_ack: bool) -> paho.Client:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=False, protocol=paho.MQTTv311, manual_ack=manual_ack)
    client.username_pw_set(username, password)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    client.max_queued_messages_set(0)
    return client


def _published(info: paho.MQTTMessageInfo) -> bool:
    """Whether the broker acknowledged the message (one handed over while disconnected is kept by paho and sent
    after the reconnect: its error code says so, not that it failed)."""
    try:
        return info.is_published()
    except RuntimeError:
        return bool(info._published)


class MqttLink:
    """The intake's :class:`~kgys.devices.link.Link` over MQTT."""

    def __init__(self, *, host: str, port: int, username: str, password: str, client_id: str,
                 keepalive: int = 30) -> None:
        self.host, self.port, self.keepalive = host, port, keepalive
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.connected = threading.Event()
        self.refused: str | None = None
        self._closing = False
        self._session = 0
        self._lock = threading.Lock()
        self._client = _client(client_id, username, password, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def _on_connect(self, client: paho.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            log.error("broker %s:%s refused the intake: %s", self.host, self.port, reason)
            return
        with self._lock:
            self._session += 1
        client.subscribe([(payloads.uplink("+", ch), 1) for ch in CHANNELS]
                         + [(payloads.unit_position_topic("+"), 1)])
        self.connected.set()
        log.info("intake connected to %s:%s", self.host, self.port)

    def _on_disconnect(self, _c: paho.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if not self._closing:
            log.warning("intake disconnected from the broker (%s); reconnecting", reason)

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            session = self._session
        self.inbox.put(Received(msg.topic, bytes(msg.payload), mid=msg.mid, qos=msg.qos, session=session))

    def start(self) -> None:
        """Connect in the background (reconnecting for as long as it runs)."""
        try:
            self._client.connect_async(self.host, self.port, keepalive=self.keepalive)
            self._client.loop_start()
        except (OSError, ValueError) as exc:
            raise BrokerError(f"cannot connect to the broker {self.host}:{self.port}: {exc}") from exc

    def get(self, timeout: float) -> Received | None:
        """The next message, waiting at most ``timeout`` seconds."""
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def ack(self, msg: Received) -> None:
        """Acknowledge a stored message (not one of an earlier connection: the broker sends that again)."""
        with self._lock:
            current = self._session
        if msg.qos == 0 or msg.session != current:
            return
        self._client.ack(msg.mid, msg.qos)

    def publish(self, topic: str, payload: bytes) -> Sent:
        """Send at QoS 1 (queued by paho while disconnected, sent again after a reconnect until acknowledged)."""
        info = self._client.publish(topic, payload, qos=1)
        return Sent(lambda: _published(info))

    def is_connected(self) -> bool:
        """Whether the link is connected to the broker now."""
        return self.connected.is_set()

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._closing = True
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()


class _Publishing:
    """What a device's and a tracker's client share: waiting for the broker's acknowledgements, and closing."""

    _client: paho.Client
    _sent: list[paho.MQTTMessageInfo]

    def flush(self, timeout: float = CONNECT_TIMEOUT) -> bool:
        """Wait until the broker acknowledged everything sent; whether it did within ``timeout``."""
        deadline = time.monotonic() + timeout
        while self._sent:
            if self._sent[0].is_published():
                self._sent.pop(0)
            elif time.monotonic() > deadline:
                return False
            else:
                time.sleep(0.01)
        return True

    def close(self) -> None:
        """Disconnect (after what was queued went out) and stop the network thread."""
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()


class DeviceClient(_Publishing):
    """A device's connection to the broker (the simulator's): publishes on its own uplink at QoS 1, with a
    persistent session so nothing sent while the broker restarts is lost; hears its replies (and, given its site,
    the site's lockdown orders) in ``replies``."""

    def __init__(self, *, host: str, port: int, serial: str, password: str, client_id: str | None = None,
                 site_code: str | None = None) -> None:
        self.serial, self.site_code = serial, site_code
        self.replies: queue.Queue[bytes] = queue.Queue()
        self._sent: list[paho.MQTTMessageInfo] = []
        self.connected = threading.Event()
        self.refused: str | None = None
        self._host, self._port = host, port
        self._client = _client(client_id or f"dev-{serial}", serial, password, manual_ack=False)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *_a: self.connected.clear()
        self._client.on_message = lambda _c, _u, msg: self.replies.put(bytes(msg.payload))

    def _on_connect(self, client: paho.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            return
        topics = [(payloads.reply_topic(self.serial), 1)]
        if self.site_code:
            topics.append((payloads.lockdown_topic(self.site_code), 1))
        client.subscribe(topics)
        self.connected.set()

    def start(self, timeout: float = CONNECT_TIMEOUT) -> DeviceClient:
        """Connect; BrokerError if not connected within ``timeout``."""
        try:
            self._client.connect_async(self._host, self._port, keepalive=30)
            self._client.loop_start()
        except (OSError, ValueError) as exc:
            raise BrokerError(f"cannot connect to the broker {self._host}:{self._port}: {exc}") from exc
        if not self.connected.wait(timeout):
            self.close()
            raise BrokerError(f"device {self.serial} not connected to {self._host}:{self._port}: "
                              f"{self.refused or 'no answer'}")
        return self

    def send(self, channel: str, body: bytes) -> None:
        """Publish ``body`` on the device's ``channel`` topic at QoS 1."""
        self._sent.append(self._client.publish(payloads.uplink(self.serial, channel), body, qos=1))



class TrackerClient(_Publishing):
    """A unit tracker's connection to the broker (the simulator's): publishes the unit's positions at QoS 1 with a
    persistent session, and hears the unit's assignments in ``assignments``."""

    def __init__(self, *, host: str, port: int, call_sign: str, username: str, password: str,
                 client_id: str | None = None) -> None:
        self.call_sign = call_sign
        self.assignments: queue.Queue[bytes] = queue.Queue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.refused: str | None = None
        self._sent: list[paho.MQTTMessageInfo] = []
        self._host, self._port = host, port
        self._client = _client(client_id or f"trk-{call_sign}", username, password, manual_ack=False)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *_a: self.connected.clear()
        self._client.on_subscribe = lambda *_a: self.subscribed.set()
        self._client.on_message = lambda _c, _u, msg: self.assignments.put(bytes(msg.payload))

    def _on_connect(self, client: paho.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            return
        client.subscribe([(payloads.unit_assignment_topic(self.call_sign), 1)])
        self.connected.set()

    def start(self, timeout: float = CONNECT_TIMEOUT) -> TrackerClient:
        """Connect; BrokerError if not connected within ``timeout``."""
        try:
            self._client.connect_async(self._host, self._port, keepalive=30)
            self._client.loop_start()
        except (OSError, ValueError) as exc:
            raise BrokerError(f"cannot connect to the broker {self._host}:{self._port}: {exc}") from exc
        if not self.connected.wait(timeout) or not self.subscribed.wait(timeout):
            self.close()
            raise BrokerError(f"tracker of {self.call_sign} not connected to {self._host}:{self._port}: "
                              f"{self.refused or 'no answer'}")
        return self

    def publish(self, body: bytes, topic: str | None = None) -> None:
        """Publish ``body`` on the unit's position topic (or ``topic``) at QoS 1."""
        self._sent.append(self._client.publish(topic or payloads.unit_position_topic(self.call_sign), body, qos=1))

