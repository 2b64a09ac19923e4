/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault operator snapshot save FILE | restore FILE: backups.
 *
 * save (online): Sys.Snapshot chunks into FILE.partial (0600), checked
 * against the vault's SHA-256 of the whole copy, fsync'd, renamed to FILE.
 * restore (offline: teevaultd stopped): checks FILE is a teevault store, moves
 * the state directory's data.mdb and audit.journal aside (*.before-restore.N),
 * puts FILE in place as data.mdb (owned like the directory, 0600). The vault
 * then unseals at start when this enclave sealed the snapshot's root key;
 * otherwise it reports sealed and `teevault operator recover` with the
 * recovery passphrase re-seals it here.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

enum { OPT_FORCE_SNAP = 0x2700, OPT_STATE_DIR };

static const struct option save_opts[] = {
    {"force", no_argument, NULL, OPT_FORCE_SNAP},
    {0},
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int snap_save(struct cli_ctx *ctx, int argc, char **argv)
{
    int o, r, force = 0, fd = -1, ret = CLI_ERR;
    char tmp[4200], q[300], hex[65];
    tv_snapshot_chunk ch;
    crypto_hash_sha256_state h;
    uint8_t sha[32];
    uint64_t off = 0;
    char id[33] = "";

    while ((o = cli_getopt(ctx, argc, argv, save_opts)) != -1) {
        switch (o) {
        case OPT_FORCE_SNAP:
            force = 1;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    const char *file = argv[optind];
    cli_term_escape(q, sizeof(q), file, strlen(file));
    if (!force && access(file, F_OK) == 0)
        return cli_errorf(ctx, "%s exists (--force replaces it)", q);
    if (snprintf(tmp, sizeof(tmp), "%s.partial", file) >= (int)sizeof(tmp))
        return cli_usage_err(ctx, "file name too long");
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    (void)unlink(tmp);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return cli_errorf(ctx, "cannot create %s.partial: %s", q, strerror(errno));
    crypto_hash_sha256_init(&h);
    memset(&ch, 0, sizeof(ch));
    for (;;) {
        if ((r = tv_sys_snapshot(ctx->client, id, off, &ch)) < 0) {
            ret = cli_fail(ctx, r);
            goto out;
        }
        snprintf(id, sizeof(id), "%s", ch.id);
        crypto_hash_sha256_update(&h, ch.data, ch.len);
        if (write_all(fd, ch.data, ch.len) < 0) {
            ret = cli_errorf(ctx, "cannot write %s.partial: %s", q, strerror(errno));
            goto out;
        }
        off += ch.len;
        if (ch.last)
            break;
        if (!ch.len) {
            ret = cli_errorf(ctx, "the vault sent an empty chunk before the end");
            goto out;
        }
        tv_free(ch.data);
        ch.data = NULL;
    }
    crypto_hash_sha256_final(&h, sha);
    if (off != ch.total || sodium_memcmp(sha, ch.sha256, 32) != 0) {
        ret = cli_errorf(ctx,
                         "the snapshot does not match the vault's checksum (%llu of %llu "
                         "bytes); nothing was written to %s",
                         (unsigned long long)off, (unsigned long long)ch.total, q);
        goto out;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        ret = cli_errorf(ctx, "cannot write %s.partial: %s", q, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, file) < 0) {
        ret = cli_errorf(ctx, "cannot rename to %s: %s", q, strerror(errno));
        goto out;
    }
    tmp[0] = 0;
    sodium_bin2hex(hex, sizeof(hex), sha, sizeof(sha));
    cli_out_begin(ctx);
    cli_out_str(ctx, "file", file);
    cli_out_u64(ctx, "bytes", off);
    cli_out_str(ctx, "sha256", hex);
    cli_out_u64(ctx, "audit_seq", ch.audit_seq);
    cli_out_end(ctx);
    ret = CLI_OK;
out:
    tv_free(ch.data);
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        (void)unlink(tmp);
    return ret;
}

static const struct option restore_opts[] = {
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {0},
};

/* A teevault store: an LMDB file with the named database "meta" holding
 * "vault.id". 0, or -1 with why set. */
static int check_store(const char *file, char *why, size_t n)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    MDB_val k = {8, (void *)(uintptr_t) "vault.id"}, d;
    int rc;

    if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, 64)) != 0 ||
        (rc = mdb_env_open(env, file, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600)) != 0 ||
        (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, "meta", 0, &meta)) != 0 || (rc = mdb_get(txn, meta, &k, &d)) != 0) {
        snprintf(why, n, "%s", mdb_strerror(rc));
        if (txn)
            mdb_txn_abort(txn);
        mdb_env_close(env);
        return -1;
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}

static int copy_file(const char *from, const char *to, uid_t uid, gid_t gid)
{
    uint8_t buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, r = -1;
    if (in < 0)
        return -1;
    if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        goto done;
    for (;;) {
        ssize_t k = read(in, buf, sizeof(buf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            goto done;
        if (k == 0)
            break;
        if (write_all(out, buf, (size_t)k) < 0)
            goto done;
    }
    if (getuid() == 0 && fchown(out, uid, gid) < 0)
        goto done;
    if (fsync(out) < 0)
        goto done;
    r = 0;
done:
    if (out >= 0 && close(out) < 0)
        r = -1;
    close(in);
    return r;
}

static int snap_restore(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *dir = "/var/lib/teevault";
    char why[200], q[300], qd[300], p[4200], aside[4200], tmp[4200];
    struct stat st;
    int o, r;
    long stamp = (long)time(NULL);

    while ((o = cli_getopt(ctx, argc, argv, restore_opts)) != -1) {
        switch (o) {
        case OPT_STATE_DIR:
            dir = optarg;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    const char *file = argv[optind];
    cli_term_escape(q, sizeof(q), file, strlen(file));
    cli_term_escape(qd, sizeof(qd), dir, strlen(dir));
    if (check_store(file, why, sizeof(why)) < 0)
        return cli_errorf(ctx, "%s is not a teevault store snapshot: %s", q, why);
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return cli_errorf(ctx, "state directory %s: %s", qd,
                          errno ? strerror(errno) : "not a directory");
    /* Offline only: a daemon answering on the address still has the store open. */
    {
        tv_client *probe = NULL;
        tv_client_opts co = {0};
        co.timeout_ms = 2000;
        if (tv_client_open(ctx->addr, &co, &probe) == 0) {
            tv_client_close(probe);
            return cli_errorf(ctx,
                              "teevaultd is running (it answers on %s): stop it first "
                              "(systemctl stop teevaultd); restore is offline",
                              ctx->addr);
        }
    }
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    snprintf(tmp, sizeof(tmp), "%s/data.mdb.restoring", dir);
    (void)unlink(tmp);
    if (copy_file(file, tmp, st.st_uid, st.st_gid) < 0) {
        int e = errno;
        (void)unlink(tmp);
        return cli_errorf(ctx, "cannot copy %s into %s: %s", q, qd, strerror(e));
    }
    /* The current store and its journal (records that belong to it, not to
     * the snapshot) are kept aside, never deleted. */
    static const char *const keep[] = {"data.mdb", "audit.journal"};
    for (size_t i = 0; i < 2; i++) {
        char cur[4200];
        snprintf(cur, sizeof(cur), "%s/%s", dir, keep[i]);
        snprintf(aside, sizeof(aside), "%s/%s.before-restore.%ld", dir, keep[i], stamp);
        if (rename(cur, aside) < 0 && errno != ENOENT) {
            int e = errno;
            (void)unlink(tmp);
            return cli_errorf(ctx, "cannot move %s aside: %s", keep[i], strerror(e));
        }
    }
    snprintf(aside, sizeof(aside), "%s/lock.mdb", dir);
    (void)unlink(aside);
    if (rename(tmp, p) < 0) {
        int e = errno;
        return cli_errorf(ctx, "cannot put the snapshot in place: %s", strerror(e));
    }
    cli_out_begin(ctx);
    cli_out_str(ctx, "restored", file);
    cli_out_str(ctx, "state_dir", dir);
    snprintf(aside, sizeof(aside), "%s/data.mdb.before-restore.%ld", dir, stamp);
    cli_out_str(ctx, "previous_store", aside);
    cli_out_end(ctx);
    fprintf(ctx->err,
            "%s: start teevaultd. It unseals the restored store when this enclave sealed its "
            "root key; if `teevault status` says sealed (another machine, another seal key), run "
            "`teevault operator recover` with the recovery passphrase.\n",
            ctx->prog);
    return CLI_OK;
}

static const struct cli_cmd snap_cmds[] = {
    {"save", snap_save,
     "Take a consistent copy of the running vault's store, with every audit record\n"
     "acknowledged so far (the vault drains its journal first), into FILE (0600),\n"
     "checked against the vault's SHA-256. Needs admin on sys/snapshot.\n"
     "  --force  replace FILE if it exists",
     "operator snapshot save FILE [--force]"},
    {"restore", snap_restore,
     "Offline (teevaultd stopped): put snapshot FILE in place as the store in DIR\n"
     "(default /var/lib/teevault). The current store and audit journal are moved\n"
     "aside (*.before-restore.TIME), never deleted. On another machine or seal key\n"
     "the vault starts sealed: run `teevault operator recover`.\n"
     "  --state-dir=DIR  the vault's state directory",
     "operator snapshot restore FILE [--state-dir=DIR]"},
};

int cmd_operator_snapshot(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, snap_cmds, sizeof(snap_cmds) / sizeof(snap_cmds[0]),
                        "operator snapshot", argc, argv);
}
