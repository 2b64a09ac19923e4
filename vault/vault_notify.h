/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_notify: the systemd service protocol (sd_notify(3)) for Type=notify:
 * READY=1 once the listeners accept, STATUS= with the vault's state
 * ("active", "sealed: run `teevault operator recover` ...", "uninitialized:
 * ...") whenever it changes, WATCHDOG=1 at half the unit's WatchdogSec from
 * the event loop (so a stuck loop is restarted), STOPPING=1 at shutdown,
 * RELOADING=1 / READY=1 around a SIGHUP reload. Without NOTIFY_SOCKET every
 * call does nothing. Runs on the event-loop thread.
 */
#ifndef VAULT_NOTIFY_H
#define VAULT_NOTIFY_H

#include "tv_err.h"
#include "vault.h"

/* Send READY=1 and the first STATUS=, and start the periodic timer (status
 * changes, watchdog). Errors: TV_ERR_NOMEM (timer). */
int vault_notify_ready(struct vault *v) TV_WUR;

/* Send STATUS= now if the state changed (after init / recover). */
void vault_notify_state(struct vault *v);

/* RELOADING=1 before a reload, READY=1 after it. */
void vault_notify_reloading(int done);

/* STOPPING=1, and stop the timer. */
void vault_notify_stopping(void);

#endif
