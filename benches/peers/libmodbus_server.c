/* A libmodbus TCP server holding 65536 holding registers, answering any
 * number of clients from one select() loop: the reference for how fast a
 * C Modbus server answers on this machine.
 *
 * usage: libmodbus_server PORT        prints "ready" once it listens */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    modbus_mapping_t *map = modbus_mapping_new(0, 0, 65535, 0);
    if (ctx == NULL || map == NULL) {
        fprintf(stderr, "cannot set up libmodbus\n");
        return 1;
    }
    for (int i = 0; i < 65535; i++) {
        map->tab_registers[i] = (uint16_t)i;
    }
    int listener = modbus_tcp_listen(ctx, 64);
    if (listener < 0) {
        fprintf(stderr, "cannot listen: %s\n", modbus_strerror(errno));
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    fd_set all;
    FD_ZERO(&all);
    FD_SET(listener, &all);
    int highest = listener;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        fd_set ready = all;
        if (select(highest + 1, &ready, NULL, NULL, NULL) < 0) {
            return 1;
        }
        for (int fd = 0; fd <= highest; fd++) {
            if (!FD_ISSET(fd, &ready)) {
                continue;
            }
            if (fd == listener) {
                int client = modbus_tcp_accept(ctx, &listener);
                if (client >= 0) {
                    FD_SET(client, &all);
                    if (client > highest) {
                        highest = client;
                    }
                }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int length = modbus_receive(ctx, query);
            if (length > 0) {
                modbus_reply(ctx, query, length, map);
            } else if (length == -1) {
                close(fd);
                FD_CLR(fd, &all);
            }
        }
    }
}
