"""Wire-level Dynamixel bus on a pseudo-terminal: simulated X-series servos speaking Protocol 2.0.

lerobot's real ``DynamixelMotorsBus`` (through ``dynamixel_sdk``'s port and packet handlers)
opens the pty's slave end as its serial port; a server thread on the master end parses
instruction packets and answers like XL430/XL330 servos:

* packets ``FF FF FD 00 id len_l len_h instr params... crc_l crc_h`` where ``len`` counts
  ``instr + params + crc`` and ``crc`` is CRC-16 (polynomial 0x8005, MSB first, initial 0) over
  everything before it; a ``FF FF FD`` inside the body is byte-stuffed to ``FF FF FD FD``;
* PING (1), READ (2), WRITE (3), SYNC_READ (0x82, one status packet per id), SYNC_WRITE (0x83,
  no reply); status packets ``FF FF FD 00 id len 0x55 err params... crc``;
* the X-series control table (lerobot's ``X_SERIES_CONTROL_TABLE`` addresses), 4-byte
  two's-complement positions;
* dynamics: with torque on, Present_Position approaches Goal_Position at most ``max_speed``
  ticks/s; the goal is clamped to the position limits except in extended-position mode
  (Operating_Mode 4), where real X-series servos ignore them.

Fault injection: :meth:`FakeDynamixelBus.disconnect` (the port vanishes), :meth:`go_silent`.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
import tty

import numpy as np

from hardware.drivers.feetech_sim import widen_sdk_packet_timeout

HEADER = b"\xff\xff\xfd\x00"
INST_PING, INST_READ, INST_WRITE, INST_STATUS = 0x01, 0x02, 0x03, 0x55
INST_SYNC_READ, INST_SYNC_WRITE = 0x82, 0x83
TICKS_PER_REV = 4096
MODEL_NUMBERS = {"xl430-w250": 1060, "xl330-m288": 1200}
KOCH_MOTORS = (  # lerobot's KochFollower: id -> model
    (1, "xl430-w250"),
    (2, "xl430-w250"),
    (3, "xl330-m288"),
    (4, "xl330-m288"),
    (5, "xl330-m288"),
    (6, "xl330-m288"),
)
ADDR = {  # (address, size) in the X-series control table
    "Model_Number": (0, 2),
    "Firmware_Version": (6, 1),
    "ID": (7, 1),
    "Baud_Rate": (8, 1),
    "Return_Delay_Time": (9, 1),
    "Drive_Mode": (10, 1),
    "Operating_Mode": (11, 1),
    "Homing_Offset": (20, 4),
    "Max_Position_Limit": (48, 4),
    "Min_Position_Limit": (52, 4),
    "Torque_Enable": (64, 1),
    "Position_D_Gain": (80, 2),
    "Position_I_Gain": (82, 2),
    "Position_P_Gain": (84, 2),
    "Goal_Current": (102, 2),
    "Goal_Position": (116, 4),
    "Moving": (122, 1),
    "Present_Velocity": (128, 4),
    "Present_Position": (132, 4),
    "Present_Input_Voltage": (144, 2),
    "Present_Temperature": (146, 1),
}
SIGNED = {"Homing_Offset", "Goal_Position", "Present_Position", "Present_Velocity"}
EXTENDED_POSITION = 4


def crc16(data: bytes) -> int:
    """Dynamixel Protocol 2.0 CRC-16 (poly 0x8005, MSB first, init 0, no final XOR)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def stuff(body: bytes) -> bytes:
    """Byte stuffing: ``FF FF FD`` -> ``FF FF FD FD`` (header excluded)."""
    return body.replace(b"\xff\xff\xfd", b"\xff\xff\xfd\xfd")


def unstuff(body: bytes) -> bytes:
    return body.replace(b"\xff\xff\xfd\xfd", b"\xff\xff\xfd")


def packet(motor_id: int, instr: int, params: bytes) -> bytes:
    """A complete Protocol 2.0 packet (stuffed, with CRC)."""
    body = stuff(bytes([instr]) + params)
    head = HEADER + bytes([motor_id]) + (len(body) + 2).to_bytes(2, "little")
    msg = head + body
    return msg + crc16(msg).to_bytes(2, "little")


class SimXMotor:
    """One X-series servo: its control table and a rate-limited position servo."""

    def __init__(self, motor_id: int, model: str, position: int = 2048, max_speed: float = 3000.0):
        self.table = bytearray(160)
        self.max_speed = max_speed  # ticks/s
        self.pos = float(position)
        self._t = time.monotonic()
        self.set("Model_Number", MODEL_NUMBERS[model])
        self.set("Firmware_Version", 48)
        self.set("ID", motor_id)
        self.set("Baud_Rate", 3)  # 1 Mbps
        self.set("Return_Delay_Time", 250)
        self.set("Operating_Mode", 3)
        self.set("Max_Position_Limit", TICKS_PER_REV - 1)
        self.set("Min_Position_Limit", 0)
        self.set("Goal_Position", position)
        self.set("Present_Position", position)
        self.set("Present_Input_Voltage", 120)
        self.set("Present_Temperature", 30)

    def get(self, name: str) -> int:
        addr, size = ADDR[name]
        raw = int.from_bytes(self.table[addr : addr + size], "little", signed=name in SIGNED)
        return raw

    def set(self, name: str, value: int) -> None:
        addr, size = ADDR[name]
        self.table[addr : addr + size] = int(value).to_bytes(size, "little", signed=name in SIGNED)

    def step(self) -> None:
        now = time.monotonic()
        dt = min(now - self._t, 0.1)
        self._t = now
        delta = 0.0
        if self.get("Torque_Enable"):
            goal = float(self.get("Goal_Position"))
            if self.get("Operating_Mode") != EXTENDED_POSITION:
                goal = float(
                    np.clip(goal, self.get("Min_Position_Limit"), self.get("Max_Position_Limit"))
                )
            delta = float(np.clip(goal - self.pos, -self.max_speed * dt, self.max_speed * dt))
        self.pos += delta
        self.set("Present_Position", int(round(self.pos)))
        self.set("Present_Velocity", int(round(delta / dt)) if dt > 0 else 0)
        self.set("Moving", int(abs(delta) > 0.5))

    def read(self, addr: int, size: int) -> bytes:
        self.step()
        return bytes(self.table[addr : addr + size])

    def write(self, addr: int, data: bytes) -> None:
        self.step()
        self.table[addr : addr + len(data)] = data


class FakeDynamixelBus:
    """Simulated Dynamixel X-series servos behind a pty; ``port`` is the device to open.

    Args:
        motors: ``(id, model)`` pairs (default: the Koch follower's six servos).
        positions: initial Present_Position per id [ticks] (default 2048).
    """

    def __init__(
        self,
        motors: tuple[tuple[int, str], ...] = KOCH_MOTORS,
        positions: dict[int, int] | None = None,
    ):
        positions = positions or {}
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))  # reply inside the timeout
        widen_sdk_packet_timeout("dynamixel_sdk")  # a loaded machine may delay our replies
        self.motors = {i: SimXMotor(i, model, positions.get(i, 2048)) for i, model in motors}
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.packets = 0
        self.bad_crc = 0
        self.sync_writes = 0
        self._silent = False
        self._closed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-dynamixel", daemon=True)
        self._thread.start()

    def motor(self, motor_id: int) -> SimXMotor:
        return self.motors[motor_id]

    def go_silent(self, silent: bool = True) -> None:
        """Servos stop answering (bus power lost): the host sees timeouts."""
        self._silent = silent

    def disconnect(self) -> None:
        """Unplug the adapter: the port vanishes and every further read/write fails."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        if not self._closed:
            self._closed = True
            os.close(self._master)
            os.close(self._slave)

    close = disconnect

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
            while (pkt := self._take_packet(buf)) is not None:
                self.packets += 1
                try:
                    self._handle(*pkt)
                except OSError:
                    return

    def _take_packet(self, buf: bytearray) -> tuple[int, int, bytes] | None:
        """Pop one CRC-valid instruction packet: (id, instruction, unstuffed params)."""
        while True:
            start = buf.find(HEADER)
            if start < 0:
                del buf[: max(len(buf) - 3, 0)]
                return None
            del buf[:start]
            if len(buf) < 7:
                return None
            total = 7 + int.from_bytes(buf[5:7], "little")
            if len(buf) < total:
                return None
            raw = bytes(buf[:total])
            del buf[:total]
            if crc16(raw[:-2]) != int.from_bytes(raw[-2:], "little"):
                self.bad_crc += 1
                continue
            body = unstuff(raw[7:-2])
            return raw[4], body[0], body[1:]

    def _handle(self, motor_id: int, instr: int, params: bytes) -> None:
        if instr == INST_SYNC_WRITE:
            addr = int.from_bytes(params[0:2], "little")
            size = int.from_bytes(params[2:4], "little")
            for k in range(4, len(params), size + 1):
                m = self.motors.get(params[k])
                if m is not None:
                    m.write(addr, params[k + 1 : k + 1 + size])
            self.sync_writes += 1
            return
        if instr == INST_SYNC_READ:
            addr = int.from_bytes(params[0:2], "little")
            size = int.from_bytes(params[2:4], "little")
            for i in params[4:]:
                if i in self.motors:
                    self._reply(i, self.motors[i].read(addr, size))
            return
        m = self.motors.get(motor_id)
        if m is None:
            return  # nobody answers an unknown id
        if instr == INST_PING:
            self._reply(motor_id, m.read(0, 2) + m.read(6, 1))
        elif instr == INST_READ:
            addr = int.from_bytes(params[0:2], "little")
            size = int.from_bytes(params[2:4], "little")
            self._reply(motor_id, m.read(addr, size))
        elif instr == INST_WRITE:
            m.write(int.from_bytes(params[0:2], "little"), bytes(params[2:]))
            self._reply(motor_id, b"")

    def _reply(self, motor_id: int, data: bytes) -> None:
        if self._silent:
            return
        os.write(self._master, packet(motor_id, INST_STATUS, bytes([0]) + data))
