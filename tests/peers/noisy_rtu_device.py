#!/usr/bin/env python3
"""An RTU device on a noisy line: before every answer it puts a burst of
seeded garbage on the wire (zeros, 0xFF, random bytes, request-shaped
frames without a CRC, a frame from another unit with a bad CRC), then the
answer. Each answer to a read holds 0x1234 in every register.

usage: noisy_rtu_device.py DEVICE UNIT SEED
Prints "ready" once the port is open.
"""
import random
import sys
import time

import serial


def crc16(data):
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def burst(rng, unit):
    kind = rng.randrange(5)
    if kind == 0:
        return bytes(rng.randrange(8, 48))
    if kind == 1:
        return b"\xff" * rng.randrange(8, 48)
    if kind == 2:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(8, 48)))
    if kind == 3:
        # Requests without their CRC, as a second master's half frames.
        return bytes([unit, 0x03, 0x00, 0x00, 0x00, 0x7D]) * rng.randrange(2, 6)
    # An answer-shaped frame that claims more than it holds.
    return bytes([unit, 0x03, 0xFA]) + bytes(rng.randrange(256) for _ in range(20))


def main(device, unit, seed):
    rng = random.Random(int(seed))
    unit = int(unit)
    port = serial.Serial(device, 19200, parity="N", timeout=0.02)
    print("ready", flush=True)
    buffer = b""
    while True:
        buffer += port.read(64)
        # Find a whole request for this unit; anything else is dropped.
        while len(buffer) >= 8:
            request = buffer[:8]
            if request[0] == unit and crc16(request[:6]) == int.from_bytes(request[6:], "little"):
                break
            buffer = buffer[1:]
        if len(buffer) < 8:
            continue
        request, buffer = buffer[:8], buffer[8:]
        count = int.from_bytes(request[4:6], "big")
        body = bytes([unit, request[1], 2 * count]) + b"\x12\x34" * count
        port.write(burst(rng, unit) + body + crc16(body).to_bytes(2, "little"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
