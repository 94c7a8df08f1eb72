#!/usr/bin/env python3
"""An RTU device on a serial port that answers badly, then well: its first
answer comes after noise bytes and with a broken CRC, later answers are
clean. Each answer to a read holds the value 0x1234 in every register.

usage: faulty_rtu_device.py DEVICE UNIT
Prints "ready" once the port is open.
"""
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


def main(device, unit):
    port = serial.Serial(device, 19200, parity="N", timeout=0.05)
    print("ready", flush=True)
    answered = 0
    buffer = b""
    while True:
        buffer += port.read(64)
        if len(buffer) < 8:
            continue
        request, buffer = buffer[:8], buffer[8:]
        if request[0] != int(unit) or crc16(request[:6]) != int.from_bytes(request[6:], "little"):
            continue
        count = int.from_bytes(request[4:6], "big")
        body = bytes([request[0], request[1], 2 * count]) + b"\x12\x34" * count
        frame = body + crc16(body).to_bytes(2, "little")
        time.sleep(0.005)
        if answered == 0:
            broken = bytearray(frame)
            broken[3] ^= 0xFF
            port.write(b"\x00\xff\x55" + bytes(broken))
        else:
            port.write(frame)
        answered += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
