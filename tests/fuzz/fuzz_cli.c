/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the `teevault` CLI's argument parsing: the input is split at NUL
 * bytes into argv[1..] and run through cli_run (global options, the command
 * tables, every command's getopt_long and positional checks, option value
 * parsers) with output to /dev/null. No daemon: the address is a socket
 * that does not exist, so commands stop at connect; offline commands
 * (`audit verify`, `attest verify`) read the files they are given.
 *
 * To keep the fuzzer hermetic, inputs are skipped when an argument names an
 * absolute path, a parent directory or another address (':' as in
 * unix:/tls://), and stdin is /dev/null. The process leaves its controlling
 * terminal (setsid) so password prompts fail at once; when it cannot,
 * commands that may prompt (login, user, operator) are skipped.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 32

static FILE *g_null;
static int g_tty;

static void setup(void)
{
    if (sodium_init() < 0)
        abort();
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0 || dup2(fd, 0) < 0)
        abort();
    close(fd);
    (void)setsid();
    fd = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
        g_tty = 1;
        close(fd);
    }
    if (!(g_null = fopen("/dev/null", "w")))
        abort();
    unsetenv("TEEVAULT_ADDR");
    unsetenv("TEEVAULT_TOKEN");
    unsetenv("TEEVAULT_TOKEN_FILE");
    unsetenv("TEEVAULT_CACERT");
    unsetenv("TEEVAULT_CLIENT_CERT");
    unsetenv("TEEVAULT_CLIENT_KEY");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    char *buf;

    if (!g_null)
        setup();
    if (size > 4096)
        return 0;
    if (!(buf = malloc(size + 1)))
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    argv[argc++] = "teevault";
    for (size_t off = 0; off <= size && argc <= MAX_ARGS;) {
        char *a = buf + off;
        size_t n = strlen(a);
        if (a[0] == '/' || strchr(a, ':') || strstr(a, ".."))
            goto skip;
        if (g_tty && (!strcmp(a, "login") || !strcmp(a, "user") || !strcmp(a, "operator")))
            goto skip;
        argv[argc++] = a;
        off += n + 1;
        if (off >= size)
            break;
    }
    argv[argc] = NULL;

    struct cli_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.out = g_null;
    ctx.err = g_null;
    ctx.addr = "unix:tv-fuzz-cli-no-such.sock";
    int r = cli_run(&ctx, argc, argv);
    if (r < CLI_OK || r > CLI_UNTRUSTED)
        __builtin_trap(); /* exit codes are 0..7 (teevault(1) EXIT STATUS) */
    if (ctx.client)
        __builtin_trap(); /* cli_run closes the connection */
skip:
    free(buf);
    return 0;
}
