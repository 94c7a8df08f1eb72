#!/usr/bin/env python3
"""A Modbus TCP server that answers its first request late and the rest at
once. Every answer to a read holds one value: the number of the request it
answers (1, 2, ...), so a client that took a late answer for a later
request would show it.

usage: late_tcp_server.py PORT DELAY_MS
Prints "ready" once it listens.
"""
import socket
import struct
import sys
import threading
import time


def serve(connection, counter, delay):
    with connection:
        while True:
            header = connection.recv(7)
            if len(header) < 7:
                return
            transaction, _, length, unit = struct.unpack(">HHHB", header)
            pdu = connection.recv(length - 1)
            counter[0] += 1
            number = counter[0]
            if number == 1:
                time.sleep(delay)
            count = struct.unpack(">H", pdu[3:5])[0]
            body = struct.pack(">BB", pdu[0], 2 * count) + struct.pack(">H", number) * count
            try:
                connection.sendall(struct.pack(">HHHB", transaction, 0, len(body) + 1, unit) + body)
            except OSError:
                pass


def main(port, delay_ms):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(port)))
    listener.listen()
    print("ready", flush=True)
    counter = [0]
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection, counter, int(delay_ms) / 1000), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
