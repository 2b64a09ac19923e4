/* SPDX-License-Identifier: Apache-2.0 */
/* vault_rotate: the stepped background re-wrap after Sys.Rotate (see vault_rotate.h). */
#include "vault_rotate.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "vault_db.h"
#include "vault_keyring.h"
#include "vault_log.h"
#include "vault_store.h"

struct vault_rotation {
    struct vault *v;
    struct event *ev;
    vault_rewrap_pos pos;
    vault_rotate_info info;
};

static const struct timeval zero_tv = {0, 0};

/* Every version has been visited and is under the current epoch: erase the
 * older epochs' KEKs and the shred entries of versions under them
 * (vault_keyring_retire), and say so in the log. */
static int retire_keks(struct vault *v)
{
    uint32_t erased = 0;
    uint64_t dropped = 0;
    char n1[16], n2[24], n3[16];
    int r = vault_keyring_retire(v->kr, NULL, NULL, &erased, &dropped);
    if (r < 0) {
        vault_log(VAULT_LOG_ERROR, "kek_retire_failed", "reason", tv_strerror(r), "hint",
                  "the older KEKs stay (and readable); run `teevault operator rotate` again",
                  (const char *)NULL);
        return r;
    }
    snprintf(n1, sizeof(n1), "%u", vault_keyring_epoch(v->kr));
    snprintf(n2, sizeof(n2), "%llu", (unsigned long long)dropped);
    snprintf(n3, sizeof(n3), "%u", erased);
    vault_log(VAULT_LOG_INFO, "kek_retired", "epoch", n1, "keks_erased", n3, "shreds_dropped", n2,
              (const char *)NULL);
    return 0;
}

static void rotation_free(struct vault_rotation *rot)
{
    if (!rot)
        return;
    if (rot->ev)
        event_free(rot->ev);
    memset(&rot->pos, 0, sizeof(rot->pos));
    free(rot);
}

static void step_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vault_rotation *rot = arg;
    struct vault *v = rot->v;
    char n1[24], n2[24], n3[24];
    int r;

    (void)fd;
    (void)what;
    if (!v->store) { /* deactivated meanwhile (recover): nothing to re-wrap under */
        rot->info.running = 0;
        rot->info.last_err = TV_ERR_NOT_INITIALISED;
        return;
    }
    r = vault_store_rewrap_step(v->store, &rot->pos, VAULT_ROTATE_STEP);
    rot->info.rewrapped = rot->pos.rewrapped;
    rot->info.visited = rot->pos.visited;
    if (r < 0) {
        rot->info.running = 0;
        rot->info.last_err = r;
        snprintf(n1, sizeof(n1), "%u", rot->info.epoch);
        snprintf(n2, sizeof(n2), "%llu", (unsigned long long)rot->pos.rewrapped);
        vault_log(VAULT_LOG_ERROR, "rotate_rewrap_failed", "epoch", n1, "rewrapped", n2, "reason",
                  tv_strerror(r), "hint",
                  "older epochs stay readable; run `teevault operator rotate` again",
                  (const char *)NULL);
        return;
    }
    if (rot->pos.done) {
        rot->info.running = 0;
        if ((r = retire_keks(v)) < 0)
            rot->info.last_err = r;
        snprintf(n1, sizeof(n1), "%u", rot->info.epoch);
        snprintf(n2, sizeof(n2), "%llu", (unsigned long long)rot->pos.rewrapped);
        snprintf(n3, sizeof(n3), "%llu", (unsigned long long)rot->pos.visited);
        vault_log(VAULT_LOG_INFO, "rotate_done", "epoch", n1, "rewrapped", n2, "visited", n3,
                  (const char *)NULL);
        return;
    }
    /* Yield to the loop: a zero timer fires only after the next poll for I/O,
     * so requests that arrived meanwhile run before the next step
     * (event_active would run it in this same pass, starving them). */
    evtimer_add(rot->ev, &zero_tv);
}

int vault_rotate_start(struct vault *v, uint64_t *pending, uint64_t *rewrapped)
{
    struct vault_rotation *rot = v->rotation;
    MDB_txn *txn = NULL;
    MDB_stat st;
    int r;

    *pending = 0;
    *rewrapped = 0;
    if (!v->store || !v->kr)
        return TV_ERR_NOT_INITIALISED;
    if (rot && rot->info.running)
        return TV_ERR_RESOURCE;
    if (!v->base) {
        vault_rewrap_pos pos;
        memset(&pos, 0, sizeof(pos));
        while (!pos.done)
            if ((r = vault_store_rewrap_step(v->store, &pos, VAULT_ROTATE_STEP)) < 0)
                return r;
        *rewrapped = pos.rewrapped;
        return retire_keks(v);
    }
    if (!rot) {
        if (!(rot = calloc(1, sizeof(*rot))))
            return TV_ERR_NOMEM;
        rot->v = v;
        if (!(rot->ev = event_new(v->base, -1, 0, step_cb, rot))) {
            free(rot);
            return TV_ERR_NOMEM;
        }
        v->rotation = rot;
    }
    memset(&rot->pos, 0, sizeof(rot->pos));
    memset(&rot->info, 0, sizeof(rot->info));
    rot->info.epoch = vault_keyring_epoch(v->kr);
    if ((r = vault_db_rtxn(v->db, &txn)) == 0) {
        if (mdb_stat(txn, v->db->versions, &st) == 0)
            rot->info.total = st.ms_entries;
        mdb_txn_abort(txn);
    }
    rot->info.running = 1;
    if (evtimer_add(rot->ev, &zero_tv) < 0) {
        rot->info.running = 0;
        return TV_ERR_NOMEM;
    }
    *pending = rot->info.total;
    return 0;
}

void vault_rotate_get_info(const struct vault *v, vault_rotate_info *out)
{
    memset(out, 0, sizeof(*out));
    if (v->rotation)
        *out = v->rotation->info;
}

void vault_rotate_stop(struct vault *v)
{
    rotation_free(v->rotation);
    v->rotation = NULL;
}
