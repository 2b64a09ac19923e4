/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz every request message through the daemon's real dispatch path:
 * ttrpc.Request envelope decode (as handle_frame does) -> method lookup ->
 * vault_server_run (bearer token, access flags, payload decode + message
 * check, the handler itself on a real LMDB store) -> the audit step
 * (vault_audit_submit, committed synchronously because v.base is NULL).
 *
 * The vault is created once per process in a temp directory (on /dev/shm
 * when present, so commits do not wait for a disk): sim backend, --dev style
 * initialisation, a small map so that "storage full" is reachable.
 *
 * Input: byte 0 picks who calls (0 = as the envelope says: unauthenticated
 * unless it carries a token; 1 = root token; 2 = an operator token bound to
 * policies "fuzz" and "default"; 3 = a bad token); the rest is the
 * ttrpc.Request envelope. For 1..3 an `authorization` metadata entry is put
 * first, so the envelope's own entries are still decoded. The root token is
 * re-created when an input revoked it (state persists across inputs, as in
 * the daemon).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "proto_frame.h"
#include "seal.h"
#include "ttrpc.pb-c.h"
#include "vault.h"
#include "vault_acl.h"
#include "vault_attest.h"
#include "vault_audit.h"
#include "vault_auth.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_lifecycle.h"
#include "vault_log.h"
#include "vault_registry.h"
#include "vault_rpc.h"
#include "vault_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vault g_v;
static vault_config g_cfg;
static char g_dir[128];
static char g_root[VAULT_TOKEN_BUF];
static char g_oper[VAULT_TOKEN_BUF];
static int g_ready;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_dispatch: setup failed: %s\n", what);
    abort();
}

static void cleanup(void)
{
    char cmd[256];
    if (!g_dir[0])
        return;
    vault_attest_close(&g_v);
    vault_audit_close(&g_v);
    vault_deactivate(&g_v);
    vault_db_close(g_v.db);
    seal_backend_free(g_v.seal);
    vault_config_free(&g_cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_dispatch: could not remove %s\n", g_dir);
}

/* Make (or re-make) a token into out; root or bound to two policies. */
static void make_token(int root, char *out, size_t outlen)
{
    MDB_txn *txn = NULL;
    char *pols[] = {"fuzz", "default"};
    if (vault_db_wtxn(g_v.db, &txn) < 0)
        die("write txn");
    int r = vault_auth_token_create(&g_v, txn, NULL, root ? "fuzz-root" : "fuzz-operator",
                                    root ? NULL : pols, root ? 0 : 2, 0, root, (int64_t)time(NULL),
                                    out, outlen, NULL);
    if (r < 0) {
        mdb_txn_abort(txn);
        return; /* e.g. map full: keep the old token */
    }
    if (vault_db_commit(txn) < 0)
        return;
}

static void setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char err[256];
    char tokfile[200];
    FILE *f;

    if (sodium_init() < 0)
        die("sodium_init");
    vault_log_setup(VAULT_LOG_ERROR, VAULT_LOG_TEXT);
    snprintf(g_dir, sizeof(g_dir), "%s/tv-fuzz-dispatch.XXXXXX", base);
    if (!mkdtemp(g_dir))
        die("mkdtemp");
    atexit(cleanup);
    if (vault_config_defaults(&g_cfg) < 0 || vault_config_set(&g_cfg.state_dir, g_dir) < 0 ||
        vault_config_set(&g_cfg.tee_backend, "sim") < 0)
        die("config");
    g_cfg.dev = 1;
    g_cfg.operator_plaintext_reads = 1;
    g_cfg.map_size = 32u << 20; /* small: storage-full paths are reachable */
    (void)err;
    g_v.cfg = &g_cfg;
    {
        seal_options so;
        memset(&so, 0, sizeof(so));
        so.backend = "sim";
        so.state_dir = g_dir;
        so.sim_signer = "fuzz";
        if (seal_backend_open(&so, &g_v.seal) < 0)
            die("seal backend");
    }
    if (vault_db_open(g_dir, (size_t)g_cfg.map_size, &g_v.db) < 0)
        die("db");
    if (vault_audit_open(&g_v, NULL) < 0)
        die("audit");
    if (vault_startup(&g_v) < 0)
        die("startup (dev init)");
    snprintf(tokfile, sizeof(tokfile), "%s/root-token", g_dir);
    if (!(f = fopen(tokfile, "r")) || !fgets(g_root, sizeof(g_root), f))
        die("root token file");
    fclose(f);
    g_root[strcspn(g_root, "\r\n")] = 0;
    make_token(0, g_oper, sizeof(g_oper));
    if (!g_oper[0])
        die("operator token");
    g_ready = 1;
}

static void audit_done(void *arg, int status)
{
    *(int *)arg = status;
}

/* The token still resolves; else make a new one (an input revoked it). */
static void keep_token(int root, char *tok, size_t toklen)
{
    vault_principal p;
    memset(&p, 0, sizeof(p));
    if (vault_auth_resolve(&g_v, tok, strlen(tok), &p) == 0) {
        vault_principal_clear(&p);
        return;
    }
    make_token(root, tok, toklen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready)
        setup();
    if (size < 1)
        return 0;
    unsigned who = data[0] & 3;
    Ttrpc__Request *rq = ttrpc__request__unpack(NULL, size - 1, data + 1);
    if (!rq)
        return 0;
    if (!protobuf_c_message_check(&rq->base))
        goto out;
    size_t sl = rq->service ? strlen(rq->service) : 0;
    size_t ml = rq->method ? strlen(rq->method) : 0;
    /* dispatch's own bounds on the names (SVC_MAX 128, METHOD_MAX 64). */
    if (!sl || !ml || sl >= 128 || ml >= 64)
        goto out;
    const vault_method *m = vault_method_find(rq->service, sl, rq->method, ml);
    if (!m)
        goto out;

    /* The chosen principal's token first, then the envelope's metadata
     * (as the server turns it into the call context). */
    char bearer[VAULT_TOKEN_BUF + 16];
    vault_md *md = NULL;
    size_t n_md = 0;
    if (!(md = calloc(rq->n_metadata + 1, sizeof(*md))))
        goto out;
    if (who) {
        if (who == 1)
            keep_token(1, g_root, sizeof(g_root));
        else if (who == 2)
            keep_token(0, g_oper, sizeof(g_oper));
        snprintf(bearer, sizeof(bearer), "Bearer %s",
                 who == 1   ? g_root
                 : who == 2 ? g_oper
                            : "tvs.notavalidtoken");
        md[n_md++] = (vault_md){"authorization", bearer};
    }
    for (size_t i = 0; i < rq->n_metadata; i++)
        if (rq->metadata[i]->key && rq->metadata[i]->value)
            md[n_md++] = (vault_md){rq->metadata[i]->key, rq->metadata[i]->value};

    vault_call call;
    vault_principal principal;
    proto_buf out;
    int token_ok = 0;
    memset(&call, 0, sizeof(call));
    memset(&principal, 0, sizeof(principal));
    call.v = &g_v;
    call.principal = &principal;
    call.service = rq->service;
    call.method = rq->method;
    call.peer = "fuzz";
    call.transport = "ttrpc";
    call.md = md;
    call.n_md = n_md;
    snprintf(call.request_id, sizeof(call.request_id), "%032x", 0u);
    proto_buf_init(&out, PROTO_FRAME_MAX - 1024);
    int status =
        vault_call_run(m, &call, &principal, &token_ok, rq->payload.data, rq->payload.len, &out);
    if (status == 0 && (call.offload || call.write)) /* the daemon: worker thread, group commit */
        status = vault_call_run_offload(&call, &out);
    if (getenv("TV_FUZZ_DEBUG"))
        fprintf(stderr, "who=%u %s/%s -> %d %s (%zu bytes)\n", who, rq->service, rq->method, status,
                call.errmsg, out.len);
    if (status > 0)
        __builtin_trap(); /* 0 or a tv_err */
    if (status < 0 && out.len)
        __builtin_trap(); /* never a payload with an error */
    if (status < 0 && !call.errmsg[0])
        __builtin_trap(); /* every refusal says why */
    if (!call.audited) {
        int ast = 1;
        if (vault_audit_submit(&g_v, &call, status, audit_done, &ast) == 0) {
            if (ast == 1 && vault_audit_flush(&g_v) < 0)
                ast = -1;
        }
    }
    if (token_ok)
        vault_principal_clear(&principal);
    proto_buf_free(&out);
    sodium_memzero(bearer, sizeof(bearer));
    free(md);
out:
    ttrpc__request__free_unpacked(rq, NULL);
    return 0;
}
