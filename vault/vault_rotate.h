/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_rotate: Sys.Rotate's re-wrap of existing DEKs under the new KEK epoch,
 * run in bounded steps on the event loop so other requests go on meanwhile
 * (issue 16: a one-shot re-wrap of 63,000 keys stalled every client 0.31 s).
 *
 * After vault_keyring_rotate has made the new epoch current, new versions are
 * wrapped under it; vault_rotate_start schedules the re-wrap of the older
 * ones: one step (one write transaction of at most VAULT_ROTATE_STEP versions)
 * per event-loop turn. Older epochs stay in the keyring, so every version
 * stays readable during and after an interrupted re-wrap; rotating again
 * visits everything again. Runs on the event-loop thread only.
 */
#ifndef VAULT_ROTATE_H
#define VAULT_ROTATE_H

#include <stdint.h>

#include "tv_err.h"
#include "vault.h"

#define VAULT_ROTATE_STEP 256

typedef struct vault_rotate_info {
    int running;
    uint32_t epoch;
    uint64_t rewrapped, visited, total;
    int last_err; /* tv_err that stopped the last re-wrap, or 0 */
} vault_rotate_info;

/* Start re-wrapping for the current epoch. With v->base the work runs in
 * steps on the loop and this returns at once (*pending = versions to visit);
 * without one (unit tests, tools) it runs to the end here (*pending = 0,
 * *rewrapped = count). Errors: TV_ERR_RESOURCE (a re-wrap is running: wait
 * for it), TV_ERR_NOMEM, and, without a base, the store's errors. */
int vault_rotate_start(struct vault *v, uint64_t *pending, uint64_t *rewrapped) TV_WUR;

/* Progress of the running (or last) re-wrap; zeros when none ran. */
void vault_rotate_get_info(const struct vault *v, vault_rotate_info *out);

/* Stop a running re-wrap and free its state (vault_deactivate, shutdown). */
void vault_rotate_stop(struct vault *v);

#endif
