/* SPDX-License-Identifier: Apache-2.0 */
/* vault_notify: sd_notify for Type=notify (see vault_notify.h). */
#include "vault_notify.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "vault_keyring.h"
#include "vault_log.h"
#include "vault_server.h"

/* The daemon has one event loop and one notify state. */
static struct event *g_tick;
static char g_last[160];
static uint64_t g_watchdog_usec;

static void state_text(struct vault *v, char *buf, size_t n)
{
    if (vault_is_active(v))
        snprintf(buf, n, "active");
    else if (v->db && vault_keyring_exists(v->db) == 1)
        snprintf(buf, n, "sealed: run `teevault operator recover` or check the TEE backend");
    else
        snprintf(buf, n, "uninitialized: run `teevault operator init`");
}

void vault_notify_state(struct vault *v)
{
    char st[160], msg[200];
    state_text(v, st, sizeof(st));
    if (!strcmp(st, g_last))
        return;
    snprintf(g_last, sizeof(g_last), "%s", st);
    snprintf(msg, sizeof(msg), "STATUS=%s", st);
    (void)sd_notify(0, msg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    vault_notify_state(arg);
    if (g_watchdog_usec)
        (void)sd_notify(0, "WATCHDOG=1");
}

int vault_notify_ready(struct vault *v)
{
    uint64_t usec = 0;
    struct timeval tv = {5, 0};

    g_last[0] = 0;
    vault_notify_state(v);
    (void)sd_notify(0, "READY=1");
    /* WATCHDOG_USEC (and WATCHDOG_PID, when set, must be us). */
    if (sd_watchdog_enabled(0, &usec) > 0 && usec) {
        g_watchdog_usec = usec;
        uint64_t half = usec / 2;
        if (half < 100000)
            half = 100000;
        tv.tv_sec = (time_t)(half / 1000000);
        tv.tv_usec = (suseconds_t)(half % 1000000);
        if (tv.tv_sec > 5) {
            tv.tv_sec = 5;
            tv.tv_usec = 0;
        }
        char n[32];
        snprintf(n, sizeof(n), "%llu", (unsigned long long)(usec / 1000));
        vault_log(VAULT_LOG_INFO, "watchdog", "interval_ms", n, (const char *)NULL);
    }
    if (!(g_tick = event_new(v->base, -1, EV_PERSIST, on_tick, v)) || event_add(g_tick, &tv) < 0)
        return TV_ERR_NOMEM;
    return 0;
}

void vault_notify_reloading(int done)
{
    (void)sd_notify(0, done ? "READY=1" : "RELOADING=1");
}

void vault_notify_stopping(void)
{
    (void)sd_notify(0, "STOPPING=1");
    if (g_tick) {
        event_free(g_tick);
        g_tick = NULL;
    }
}
