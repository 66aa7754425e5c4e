"""A wire-level Feetech STS bus on a pseudo-terminal: simulated motors that speak the protocol.

:class:`FakeFeetechBus` opens a pty pair; lerobot's real ``FeetechMotorsBus`` (through the
``scservo_sdk`` port handler) opens the slave end as its serial port, and a server thread on
the master end parses instruction packets and answers like STS3215 servos:

* packets ``FF FF id len instr params... chk`` with ``chk = ~(id + len + instr + Σparams)``;
* PING (1), READ (2), WRITE (3), SYNC_READ (0x82, one status packet per id), SYNC_WRITE
  (0x83, no reply); status packets ``FF FF id len err params... chk``;
* a 128-byte control table per motor (Model_Number 777, firmware, ID, limits, Homing_Offset,
  Torque_Enable, Goal_Position, Present_Position, Present_Velocity, Torque_Limit, ...);
* dynamics: with torque on, Present_Position approaches Goal_Position (clamped to the
  position limits) at most ``max_speed`` ticks/s; values use Feetech's sign-magnitude encoding.

Fault injection: :meth:`disconnect` (the port vanishes: reads raise), :meth:`go_silent`
(motors stop answering: timeouts), :meth:`corrupt_next` (bad checksums), :meth:`drop_next`,
``reply_delay_s`` (a slow bus).
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import time
import tty

import numpy as np

logger = logging.getLogger(__name__)

INST_PING, INST_READ, INST_WRITE, INST_SYNC_READ, INST_SYNC_WRITE = 1, 2, 3, 0x82, 0x83
BROADCAST_ID = 0xFE
STS3215_MODEL = 777
TICKS_PER_REV = 4096

# (address, size) of the registers the simulation reads or writes (STS/SMS control table).
ADDR = {
    "Firmware_Major_Version": (0, 1),
    "Firmware_Minor_Version": (1, 1),
    "Model_Number": (3, 2),
    "ID": (5, 1),
    "Baud_Rate": (6, 1),
    "Min_Position_Limit": (9, 2),
    "Max_Position_Limit": (11, 2),
    "Max_Torque_Limit": (16, 2),
    "Homing_Offset": (31, 2),
    "Torque_Enable": (40, 1),
    "Goal_Position": (42, 2),
    "Torque_Limit": (48, 2),
    "Lock": (55, 1),
    "Present_Position": (56, 2),
    "Present_Velocity": (58, 2),
    "Present_Voltage": (62, 1),
    "Present_Temperature": (63, 1),
    "Moving": (66, 1),
}
SIGN_BITS = {
    "Homing_Offset": 11,
    "Goal_Position": 15,
    "Present_Position": 15,
    "Present_Velocity": 15,
}


def checksum(body: bytes | list[int]) -> int:
    """Feetech checksum of the bytes after the two 0xFF headers (id .. last param)."""
    return (~sum(body)) & 0xFF


def _encode(value: int, sign_bit: int | None) -> int:
    if sign_bit is not None and value < 0:
        return (-value) | (1 << sign_bit)
    return value


def _decode(value: int, sign_bit: int | None) -> int:
    if sign_bit is not None and value & (1 << sign_bit):
        return -(value & ((1 << sign_bit) - 1))
    return value


class SimMotor:
    """One STS3215: its control table and a rate-limited position servo."""

    def __init__(self, motor_id: int, position: int = 2048, max_speed: float = 3400.0):
        self.table = bytearray(128)
        self.max_speed = max_speed  # ticks/s (~5.2 rad/s, the STS3215 no-load speed)
        self.pos = float(position)
        self.vel = 0.0
        self._t = time.monotonic()
        self.set("Firmware_Major_Version", 3)
        self.set("Firmware_Minor_Version", 10)
        self.set("Model_Number", STS3215_MODEL)
        self.set("ID", motor_id)
        self.set("Min_Position_Limit", 0)
        self.set("Max_Position_Limit", TICKS_PER_REV - 1)
        self.set("Max_Torque_Limit", 1000)
        self.set("Torque_Limit", 1000)
        self.set("Goal_Position", position)
        self.set("Present_Voltage", 120)
        self.set("Present_Temperature", 30)

    @property
    def motor_id(self) -> int:
        return self.table[ADDR["ID"][0]]

    def get(self, name: str) -> int:
        addr, size = ADDR[name]
        raw = int.from_bytes(self.table[addr : addr + size], "little")
        return _decode(raw, SIGN_BITS.get(name))

    def set(self, name: str, value: int) -> None:
        addr, size = ADDR[name]
        raw = _encode(int(value), SIGN_BITS.get(name))
        self.table[addr : addr + size] = (raw & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    def step(self) -> None:
        """Advance the servo to now: move toward the (limit-clamped) goal at <= max_speed."""
        now = time.monotonic()
        dt = min(now - self._t, 0.1)
        self._t = now
        if self.get("Torque_Enable"):
            lo, hi = self.get("Min_Position_Limit"), self.get("Max_Position_Limit")
            goal = float(np.clip(self.get("Goal_Position"), lo, hi))
            delta = float(np.clip(goal - self.pos, -self.max_speed * dt, self.max_speed * dt))
        else:
            delta = 0.0  # unpowered: stays put (no gravity model)
        self.pos += delta
        self.vel = delta / dt if dt > 0 else 0.0
        self.set("Present_Position", int(round(self.pos)) % TICKS_PER_REV)
        self.set("Present_Velocity", int(round(self.vel)))
        self.set("Moving", int(abs(delta) > 0.5))

    def write(self, addr: int, data: bytes) -> None:
        self.table[addr : addr + len(data)] = data

    def read(self, addr: int, size: int) -> bytes:
        self.step()
        return bytes(self.table[addr : addr + size])


SIM_LATENCY_TIMER_MS = 150
"""USB latency timer [ms] the servo SDKs assume while a simulated bus is in use. The SDKs' packet
timeout is ``2 * LATENCY_TIMER + 2`` ms (34 ms at their default 16): enough for a real USB
adapter, but a simulated bus answers from a thread that a loaded 2-core machine can leave
unscheduled for longer, which made connect and reads fail at random. 150 gives 302 ms (60, i.e.
122 ms, still failed now and then in full test runs at load 5-7)."""


def widen_sdk_packet_timeout(sdk: str) -> None:
    """Raise ``<sdk>.port_handler.LATENCY_TIMER`` to :data:`SIM_LATENCY_TIMER_MS` (process-wide;
    only simulated buses call this; never lowers it). ``sdk``: ``scservo_sdk`` or
    ``dynamixel_sdk``."""
    import importlib

    handler = importlib.import_module(f"{sdk}.port_handler")
    handler.LATENCY_TIMER = max(int(handler.LATENCY_TIMER), SIM_LATENCY_TIMER_MS)


class FakeFeetechBus:
    """Simulated Feetech motors behind a pty; ``port`` is the serial device to open.

    Args:
        ids: motor ids on the bus.
        positions: initial Present_Position per id [ticks] (default 2048, mid-range).
    """

    def __init__(self, ids: list[int] | tuple[int, ...], positions: dict[int, int] | None = None):
        positions = positions or {}
        # The motors answer from a thread of this process while the SDK busy-polls the port:
        # a short GIL switch interval keeps replies inside its ~50 ms packet timeout.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        widen_sdk_packet_timeout("scservo_sdk")
        self.motors = {i: SimMotor(i, positions.get(i, 2048)) for i in ids}
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.reply_delay_s = 0.0
        self.packets = 0
        self.sync_writes = 0
        self._silent = False
        self._corrupt = 0
        self._drop = 0
        self._closed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-feetech", daemon=True)
        self._thread.start()

    # -- fault injection ----------------------------------------------------------------------
    def disconnect(self) -> None:
        """Unplug the adapter: the port vanishes and every further read/write fails."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        if not self._closed:
            self._closed = True
            os.close(self._master)
            os.close(self._slave)

    def go_silent(self, silent: bool = True) -> None:
        """Motors stop answering (power lost on the bus): the host sees timeouts."""
        self._silent = silent

    def corrupt_next(self, n: int = 1) -> None:
        """The next ``n`` status packets carry a wrong checksum."""
        self._corrupt += n

    def drop_next(self, n: int = 1) -> None:
        """The next ``n`` status packets are not sent."""
        self._drop += n

    def close(self) -> None:
        self.disconnect()

    # -- helpers for tests --------------------------------------------------------------------
    def motor(self, motor_id: int) -> SimMotor:
        return self.motors[motor_id]

    # -- server -------------------------------------------------------------------------------
    def _serve(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    continue
                buf += os.read(self._master, 4096)
            except OSError:
                return
            while True:
                packet = self._take_packet(buf)
                if packet is None:
                    break
                self.packets += 1
                try:
                    self._handle(packet)
                except OSError:
                    return

    @staticmethod
    def _take_packet(buf: bytearray) -> bytes | None:
        """Pop one complete, checksum-valid instruction packet from ``buf`` (or None)."""
        while True:
            start = buf.find(b"\xff\xff")
            if start < 0:
                del buf[:-1]
                return None
            del buf[:start]
            if len(buf) < 4:
                return None
            if buf[2] == 0xFF:  # three 0xFF in a row: skip one
                del buf[0]
                continue
            total = buf[3] + 4
            if len(buf) < total:
                return None
            packet = bytes(buf[:total])
            del buf[:total]
            if checksum(packet[2:-1]) == packet[-1]:
                return packet
            logger.debug("fake feetech: dropped corrupt instruction packet")

    def _handle(self, packet: bytes) -> None:
        motor_id, instr, params = packet[2], packet[4], packet[5:-1]
        with self._lock:
            if instr == INST_SYNC_WRITE:
                addr, size = params[0], params[1]
                for k in range(2, len(params), size + 1):
                    m = self.motors.get(params[k])
                    if m is not None:
                        m.write(addr, params[k + 1 : k + 1 + size])
                self.sync_writes += 1
                return
            if instr == INST_SYNC_READ:
                addr, size = params[0], params[1]
                replies = [
                    (i, self.motors[i].read(addr, size)) for i in params[2:] if i in self.motors
                ]
                for i, data in replies:
                    self._reply(i, data)
                return
            m = self.motors.get(motor_id)
            if m is None:
                return  # nobody answers an unknown id (or a broadcast ping here)
            if instr == INST_PING:
                self._reply(motor_id, b"")
            elif instr == INST_READ:
                self._reply(motor_id, m.read(params[0], params[1]))
            elif instr == INST_WRITE:
                m.write(params[0], bytes(params[1:]))
                self._reply(motor_id, b"")

    def _reply(self, motor_id: int, data: bytes) -> None:
        if self._silent:
            return
        if self._drop > 0:
            self._drop -= 1
            return
        body = bytes([motor_id, len(data) + 2, 0]) + data
        chk = checksum(body)
        if self._corrupt > 0:
            self._corrupt -= 1
            chk ^= 0x5A
        if self.reply_delay_s:
            time.sleep(self.reply_delay_s)
        os.write(self._master, b"\xff\xff" + body + bytes([chk]))
