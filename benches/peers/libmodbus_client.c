/* A libmodbus TCP client doing sequential reads of COUNT holding registers
 * from ADDRESS (PDU) for SECONDS, then printing how many it did.
 *
 * usage: libmodbus_client PORT UNIT ADDRESS COUNT SECONDS
 * prints: "<reads> <errors>" */
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORT UNIT ADDRESS COUNT SECONDS\n", argv[0]);
        return 2;
    }
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    modbus_set_slave(ctx, atoi(argv[2]));
    if (ctx == NULL || modbus_connect(ctx) < 0) {
        fprintf(stderr, "cannot connect\n");
        return 1;
    }
    int address = atoi(argv[3]), count = atoi(argv[4]);
    double end = now() + atof(argv[5]);
    uint16_t registers[125];
    long reads = 0, errors = 0;
    while (now() < end) {
        if (modbus_read_registers(ctx, address, count, registers) == count) {
            reads++;
        } else {
            errors++;
        }
    }
    printf("%ld %ld\n", reads, errors);
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
