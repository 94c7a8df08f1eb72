#!/usr/bin/env python3
"""A pymodbus server holding the registers a test sets, for meterscope's
client tests.

usage: pymodbus_server.py tcp PORT UNIT [REGISTER=WORD ...]
       pymodbus_server.py serial DEVICE UNIT [REGISTER=WORD ...]

REGISTER is a register number as vendors print it (1-based); WORD is a
16-bit value (decimal or 0x hex). Prints "ready" once it listens.
"""
import asyncio
import sys

from pymodbus.datastore import ModbusDeviceContext, ModbusServerContext, ModbusSparseDataBlock
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer


def registers(pairs):
    values = {}
    for pair in pairs:
        register, word = pair.split("=")
        values[int(register) - 1] = int(word, 0)
    return values


async def main(kind, place, unit, pairs):
    block = ModbusSparseDataBlock(registers(pairs))
    context = ModbusServerContext(devices={int(unit): ModbusDeviceContext(hr=block, ir=block)}, single=False)
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, lambda: print("ready", flush=True))
    if kind == "tcp":
        await StartAsyncTcpServer(context=context, address=("127.0.0.1", int(place)))
    else:
        await StartAsyncSerialServer(
            context=context, port=place, baudrate=19200, parity="N", stopbits=1, bytesize=8
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
