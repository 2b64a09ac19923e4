/* SPDX-License-Identifier: Apache-2.0 */
/* vault_snapshot: Sys.Snapshot (see vault_snapshot.h). */
#include "vault_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "teevault.pb-c.h"
#include "vault_acl.h"
#include "vault_audit.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_log.h"
#include "vault_rpc.h"

/* One snapshot in progress, per daemon (the loop thread owns it). */
static struct {
    char id[33];
    char path[4096];
    uint64_t total;
    uint8_t sha[32];
    uint64_t audit_seq;
    int fd;
    int active;
} g_snap = {.fd = -1};

static void snap_clear(void)
{
    if (g_snap.fd >= 0)
        close(g_snap.fd);
    if (g_snap.active && g_snap.path[0])
        (void)unlink(g_snap.path);
    memset(&g_snap, 0, sizeof(g_snap));
    g_snap.fd = -1;
}

void vault_snapshot_cleanup(struct vault *v)
{
    (void)v;
    snap_clear();
}

/* Copy the store into a new file and hash it. */
static int snap_take(vault_call *c)
{
    struct vault *v = c->v;
    uint8_t rid[16], buf[65536];
    crypto_hash_sha256_state h;
    int r, fd;

    snap_clear();
    if (snprintf(g_snap.path, sizeof(g_snap.path), "%s/snapshot.partial", v->cfg->state_dir) >=
        (int)sizeof(g_snap.path))
        return TV_ERR_INVALID;
    (void)unlink(g_snap.path);
    if ((fd = open(g_snap.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        vault_call_errf(c, "cannot create the snapshot file: %s", strerror(errno));
        g_snap.path[0] = 0;
        return TV_ERR_IO;
    }
    g_snap.fd = fd;
    g_snap.active = 1;
    if ((r = mdb_env_copyfd2(v->db->env, fd, MDB_CP_COMPACT)) != 0) {
        vault_call_errf(c, "copying the store failed: %s", mdb_strerror(r));
        snap_clear();
        return TV_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snap_clear();
        return TV_ERR_IO;
    }
    g_snap.total = (uint64_t)st.st_size;
    crypto_hash_sha256_init(&h);
    for (uint64_t off = 0; off < g_snap.total;) {
        ssize_t k = pread(fd, buf, sizeof(buf), (off_t)off);
        if (k <= 0) {
            snap_clear();
            return TV_ERR_IO;
        }
        crypto_hash_sha256_update(&h, buf, (size_t)k);
        off += (uint64_t)k;
    }
    crypto_hash_sha256_final(&h, g_snap.sha);
    randombytes_buf(rid, sizeof(rid));
    sodium_bin2hex(g_snap.id, sizeof(g_snap.id), rid, sizeof(rid));
    return 0;
}

int vault_snapshot_rpc(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    const Teevault__V1__SnapshotRequest *in = (const Teevault__V1__SnapshotRequest *)req;
    Teevault__V1__SnapshotChunk resp;
    struct vault *v = c->v;
    uint8_t *data = NULL;
    char why[160];
    int r;

    if ((r = vault_acl_check(v, c->principal, "sys/snapshot", VAULT_CAP_ADMIN, why, sizeof(why))) <
        0) {
        vault_call_errf(c, "snapshot needs admin on sys/snapshot: %s", why);
        return r;
    }
    if (!in->id || !in->id[0]) {
        MDB_txn *txn = NULL;
        vault_audit_info ai;
        /* This call's record, committed in a write transaction that first
         * drains the journal: everything acknowledged so far is in LMDB. */
        if ((r = vault_call_begin(c, &txn, 1)) < 0)
            return r;
        if ((r = vault_call_commit_audited(c, txn)) < 0)
            return r;
        if ((r = snap_take(c)) < 0)
            return r;
        if (vault_audit_get_info(v, &ai) == 0)
            g_snap.audit_seq = ai.seq;
        char n[24];
        snprintf(n, sizeof(n), "%llu", (unsigned long long)g_snap.total);
        vault_log(VAULT_LOG_INFO, "snapshot", "bytes", n, (const char *)NULL);
    } else if (!g_snap.active || sodium_memcmp(in->id, g_snap.id, 32) != 0 ||
               strlen(in->id) != 32) {
        vault_call_errf(c, "no snapshot with that id in progress (it finished, or a newer one "
                           "replaced it)");
        return TV_ERR_NOT_FOUND;
    }
    if (in->offset > g_snap.total) {
        vault_call_errf(c, "offset beyond the snapshot's %llu bytes",
                        (unsigned long long)g_snap.total);
        return TV_ERR_INVALID;
    }
    uint64_t left = g_snap.total - in->offset;
    size_t n = left > VAULT_SNAPSHOT_CHUNK ? VAULT_SNAPSHOT_CHUNK : (size_t)left;
    if (!(data = malloc(n ? n : 1)))
        return TV_ERR_NOMEM;
    for (size_t got = 0; got < n;) {
        ssize_t k = pread(g_snap.fd, data + got, n - got, (off_t)(in->offset + got));
        if (k <= 0) {
            free(data);
            vault_call_errf(c, "reading the snapshot file failed");
            return TV_ERR_IO;
        }
        got += (size_t)k;
    }
    teevault__v1__snapshot_chunk__init(&resp);
    resp.id = g_snap.id;
    resp.total = g_snap.total;
    resp.offset = in->offset;
    resp.data.data = data;
    resp.data.len = n;
    resp.last = in->offset + n == g_snap.total;
    resp.sha256.data = g_snap.sha;
    resp.sha256.len = sizeof(g_snap.sha);
    resp.audit_seq = g_snap.audit_seq;
    r = vault_pack(out, &resp.base);
    free(data);
    if (r == 0 && resp.last)
        snap_clear();
    return r;
}
