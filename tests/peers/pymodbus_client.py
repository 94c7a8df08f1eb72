#!/usr/bin/env python3
"""Reads holding registers with pymodbus and prints them as JSON, for
meterscope's server tests.

usage: pymodbus_client.py tcp PORT UNIT ADDRESS:COUNT ...
       pymodbus_client.py serial DEVICE UNIT ADDRESS:COUNT ...

ADDRESS is a PDU address (register number - 1). Prints one JSON list: per
read, the registers, or {"exception": code}, or {"error": text}.
"""
import json
import sys

from pymodbus.client import ModbusSerialClient, ModbusTcpClient


def main(kind, place, unit, reads):
    if kind == "tcp":
        client = ModbusTcpClient("127.0.0.1", port=int(place), timeout=2)
    else:
        client = ModbusSerialClient(port=place, baudrate=19200, parity="N", stopbits=1, bytesize=8, timeout=2)
    if not client.connect():
        print(json.dumps([{"error": "cannot connect"}]))
        return
    results = []
    for read in reads:
        address, count = (int(x) for x in read.split(":"))
        try:
            response = client.read_holding_registers(address, count=count, device_id=int(unit))
            if response.isError():
                results.append({"exception": getattr(response, "exception_code", None)})
            else:
                results.append(response.registers)
        except Exception as error:  # a timeout or a refused request
            results.append({"error": str(error)})
    client.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
