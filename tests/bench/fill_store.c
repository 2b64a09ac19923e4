/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault-bench-fill: put N secrets into a --dev vault's state directory
 * directly through vault_store (no daemon), to measure start-up time with a
 * large store (issue 7: < 200 ms with 1,000,000 secrets).
 *
 *   teevault-bench-fill --state-dir DIR --count N [--value-size BYTES]
 *
 * DIR must hold a vault initialised by `teevaultd --dev --state-dir DIR`
 * (stopped). The vault is unsealed the way the daemon does it (sim backend,
 * vault_startup) and each secret bench/fill/k<i> is written with
 * vault_store_put, with its audit record in the same transaction as the
 * daemon's Put does (principal "teevault-bench-fill"). To make filling fast
 * the environment runs with MDB_NOSYNC and is synced once at the end (and
 * every 100,000 secrets): only the fill skips the per-write fsync; the
 * records are byte-for-byte what the daemon writes.
 * Exit 0 on success, 1 on error, 2 on usage errors.
 */
#include <getopt.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "seal.h"
#include "vault.h"
#include "vault_audit.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_lifecycle.h"
#include "vault_store.h"

typedef struct fill_hook {
    struct vault *v;
    vault_call *c;
} fill_hook;

static int audit_hook(void *arg, MDB_txn *txn)
{
    fill_hook *h = arg;
    return vault_audit_append_txn(h->v, txn, h->c, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state-dir", required_argument, NULL, 'd'},
        {"count", required_argument, NULL, 'n'},
        {"value-size", required_argument, NULL, 's'},
        {0},
    };
    const char *dir = NULL;
    long count = 0;
    size_t vsize = 64;
    struct vault v;
    vault_config cfg;
    vault_principal p;
    vault_call call;
    seal_options so;
    uint8_t *val = NULL;
    int o, r, rc = 1, cfg_ok = 0;
    double t0;

    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            dir = optarg;
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 's':
            vsize = (size_t)atol(optarg);
            break;
        default:
            fprintf(stderr, "usage: teevault-bench-fill --state-dir DIR --count N "
                            "[--value-size BYTES]\n");
            return 2;
        }
    }
    if (!dir || count < 1 || count > 100000000L || vsize > 65536) {
        fprintf(stderr, "usage: teevault-bench-fill --state-dir DIR --count N "
                        "[--value-size BYTES]\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    memset(&v, 0, sizeof v);
    if (vault_config_defaults(&cfg) < 0)
        goto out;
    cfg_ok = 1;
    cfg.dev = 1;
    if (vault_config_set(&cfg.state_dir, dir) < 0 || vault_config_set(&cfg.tee_backend, "sim") < 0)
        goto out;
    /* 1M secrets with their audit records need more than the 1 GiB default
     * map; LMDB keeps the larger size recorded in the file for the daemon. */
    cfg.map_size = (uint64_t)8 << 30;
    v.cfg = &cfg;
    memset(&so, 0, sizeof so);
    so.backend = cfg.tee_backend;
    so.state_dir = cfg.state_dir;
    if ((r = seal_backend_open(&so, &v.seal)) < 0 ||
        (r = vault_db_open(cfg.state_dir, (size_t)cfg.map_size, &v.db)) < 0 ||
        (r = vault_audit_open(&v, NULL)) < 0) {
        fprintf(stderr, "teevault-bench-fill: open %s: %s\n", dir, tv_strerror(r));
        goto out;
    }
    if ((r = vault_startup(&v)) < 0) {
        fprintf(stderr, "teevault-bench-fill: unseal: %s\n", tv_strerror(r));
        goto out;
    }
    if (mdb_env_set_flags(v.db->env, MDB_NOSYNC, 1) != 0)
        goto out;
    if (!(val = malloc(vsize ? vsize : 1)))
        goto out;
    for (size_t i = 0; i < vsize; i++)
        val[i] = (uint8_t)('a' + i % 26);
    memset(&call, 0, sizeof call);
    memset(&p, 0, sizeof p);
    p.kind = VAULT_PRINCIPAL_NONE;
    snprintf(p.id, sizeof p.id, "teevault-bench-fill");
    call.v = &v;
    call.principal = &p;
    call.service = "teevault.v1.Secrets";
    call.method = "Put";
    call.peer = "local";
    t0 = now_s();
    for (long i = 0; i < count; i++) {
        fill_hook h = {&v, &call};
        uint64_t ver = 0;
        snprintf(call.audit_secret, sizeof call.audit_secret, "bench/fill/k%08ld", i);
        snprintf(call.request_id, sizeof call.request_id, "fill%028ld", i);
        if ((r = vault_store_put(v.store, call.audit_secret, val, vsize, NULL, audit_hook, &h,
                                 &ver)) < 0) {
            fprintf(stderr, "teevault-bench-fill: put #%ld: %s\n", i, tv_strerror(r));
            goto out;
        }
        if ((i + 1) % 100000 == 0) {
            if (mdb_env_sync(v.db->env, 1) != 0)
                goto out;
            fprintf(stderr, "teevault-bench-fill: %ld secrets (%.0f/s)\n", i + 1,
                    (double)(i + 1) / (now_s() - t0));
        }
    }
    if (mdb_env_sync(v.db->env, 1) != 0)
        goto out;
    printf("teevault-bench-fill: %ld secrets of %zu bytes in %.1f s\n", count, vsize, now_s() - t0);
    rc = 0;
out:
    free(val);
    if (v.auditw && vault_audit_flush(&v) < 0)
        rc = 1;
    vault_audit_close(&v);
    vault_deactivate(&v);
    vault_db_close(v.db);
    seal_backend_free(v.seal);
    if (cfg_ok)
        vault_config_free(&cfg);
    return rc;
}
