/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libteevault: known vaults (issue 12, freshness). Like ssh's known_hosts:
 * per vault id the newest signed state this user has seen, so a vault whose
 * state directory was restored from an older copy is refused ("rolled
 * back"). Contract in tv_client_int.h; file format in docs/ATTESTATION.md
 * "Freshness".
 *
 * File: $TEEVAULT_KNOWN_VAULTS, else $XDG_CONFIG_HOME/teevault/known_vaults,
 * else $HOME/.config/teevault/known_vaults. Lines:
 *   <vault id hex64> <state version> <audit seq> <audit head hex64>
 *   <signing key hex64> <unix time seen>
 * '#' lines are comments. The file is rewritten whole (temp file + rename,
 * 0600) under an flock on "<path>.lock", so concurrent clients never lose
 * each other's lines. A line that does not parse is kept as is and ignored
 * (a newer library's line, or a hand edit), never guessed at.
 */
#include "tv_client_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define KNOWN_LINE_MAX  512
#define KNOWN_MAX_BYTES (8u << 20) /* refuse to slurp a runaway file */

static int default_path(char *out, size_t n)
{
    const char *e = getenv("TEEVAULT_KNOWN_VAULTS");
    const char *x = getenv("XDG_CONFIG_HOME");
    const char *h = getenv("HOME");
    int k;

    if (e && *e)
        k = snprintf(out, n, "%s", e);
    else if (x && *x == '/')
        k = snprintf(out, n, "%s/teevault/known_vaults", x);
    else if (h && *h == '/')
        k = snprintf(out, n, "%s/.config/teevault/known_vaults", h);
    else
        return TV_ERR_INVALID;
    return k > 0 && (size_t)k < n ? 0 : TV_ERR_TOO_LARGE;
}

/* mkdir -p of path's parent directories (0700). */
static int make_parents(const char *path)
{
    char d[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof d)
        return TV_ERR_TOO_LARGE;
    memcpy(d, path, n + 1);
    for (char *p = d + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(d, 0700) != 0 && errno != EEXIST)
            return TV_ERR_IO;
        *p = '/';
    }
    return 0;
}

static int parse_line(const char *line, tv_known_state *st, int64_t *seen)
{
    char vid[65], head[65], spk[65];
    unsigned long long sv, seq;
    long long t;
    size_t n;

    if (sscanf(line, "%64s %llu %llu %64s %64s %lld", vid, &sv, &seq, head, spk, &t) != 6)
        return -1;
    if (sodium_hex2bin(st->vault_id, 32, vid, 64, NULL, &n, NULL) != 0 || n != 32 ||
        sodium_hex2bin(st->audit_head, 32, head, 64, NULL, &n, NULL) != 0 || n != 32 ||
        sodium_hex2bin(st->sign_pk, 32, spk, 64, NULL, &n, NULL) != 0 || n != 32)
        return -1;
    st->state_version = sv;
    st->audit_seq = seq;
    *seen = t;
    return 0;
}

static void hex(char out[65], const uint8_t in[32])
{
    sodium_bin2hex(out, 65, in, 32);
}

int tv_known_older(tv_client *c, const tv_known_state *known, const tv_known_state *now,
                   const char *where, int64_t seen_at)
{
    char id[17], when[32] = "earlier";
    int rolled = now->state_version < known->state_version || now->audit_seq < known->audit_seq;
    int forked = !rolled && now->audit_seq == known->audit_seq &&
                 sodium_memcmp(now->audit_head, known->audit_head, 32) != 0;

    if (sodium_memcmp(now->sign_pk, known->sign_pk, 32) != 0)
        return tv_fail(c, TV_ERR_VERIFY,
                       "the vault's signing key is not the one %s recorded for its vault id "
                       "(another vault claiming its id?)",
                       where);
    if (!rolled && !forked)
        return 0;
    sodium_bin2hex(id, sizeof id, known->vault_id, 8);
    if (seen_at > 0) {
        time_t t = (time_t)seen_at;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "at %Y-%m-%dT%H:%M:%SZ", &tm);
    }
    return tv_fail(c, TV_ERR_ROLLBACK,
                   "vault %s... has rolled back%s: it signs state version %" PRIu64
                   ", audit seq %" PRIu64 ", but %s saw state version %" PRIu64
                   ", audit seq %" PRIu64 " %s. Check whether its state directory was restored "
                   "from a backup or an old disk copy; if a restore was intended, remove the "
                   "vault's line from %s",
                   id, forked ? " or forked (same seq, other audit head)" : "", now->state_version,
                   now->audit_seq, where, known->state_version, known->audit_seq, when, where);
}

const tv_known_state *tv_known_find(const tv_known_snapshot *snap, const uint8_t vault_id[32])
{
    for (size_t i = 0; snap && i < snap->n; i++)
        if (sodium_memcmp(snap->e[i].vault_id, vault_id, 32) == 0)
            return &snap->e[i];
    return NULL;
}

int tv_known_forked(tv_client *c, const tv_known_state *known, const char *where)
{
    char id[17];
    sodium_bin2hex(id, sizeof id, known->vault_id, 8);
    return tv_fail(c, TV_ERR_ROLLBACK,
                   "vault %s... has rolled back or forked: its audit chain no longer holds "
                   "record %" PRIu64 " as %s saw it (its counters moved past it, as they do "
                   "when a restored copy is started again). Check whether its state directory "
                   "was restored from a backup or an old disk copy; if a restore was intended, "
                   "remove the vault's line from %s",
                   id, known->audit_seq, where, where);
}

/* Read every parsable line of the open file `in` into snap (size bounded). */
static int read_entries(tv_client *c, FILE *in, tv_known_snapshot *snap)
{
    char line[KNOWN_LINE_MAX];
    size_t total = 0, cap = 0;

    while (fgets(line, sizeof line, in)) {
        tv_known_state k;
        int64_t seen = 0;
        total += strlen(line);
        if (total > KNOWN_MAX_BYTES)
            return tv_fail(c, TV_ERR_TOO_LARGE, "%s is larger than %u bytes", snap->path,
                           KNOWN_MAX_BYTES);
        if (line[0] == '#' || parse_line(line, &k, &seen) != 0)
            continue;
        if (snap->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            tv_known_state *e = realloc(snap->e, ncap * sizeof *e);
            if (!e)
                return tv_fail(c, TV_ERR_NOMEM, "out of memory");
            snap->e = e;
            cap = ncap;
        }
        snap->e[snap->n++] = k;
    }
    return 0;
}

int tv_known_vaults_snapshot(tv_client *c, const char *path_opt, tv_known_snapshot *snap)
{
    FILE *in;
    int r;

    memset(snap, 0, sizeof *snap);
    if (path_opt && !*path_opt)
        return 0; /* remembering switched off by the caller */
    if (path_opt) {
        if (strlen(path_opt) >= sizeof snap->path)
            return tv_fail(c, TV_ERR_TOO_LARGE, "known_vaults path too long");
        snprintf(snap->path, sizeof snap->path, "%s", path_opt);
    } else if ((r = default_path(snap->path, sizeof snap->path)) < 0) {
        return tv_fail(c, r,
                       "no place for known_vaults: set TEEVAULT_KNOWN_VAULTS or HOME "
                       "(or pass tv_vault_verify_opts.known_vaults)");
    }
    snap->taken = 1;
    if (!(in = fopen(snap->path, "re")))
        return errno == ENOENT
                   ? 0
                   : tv_fail(c, TV_ERR_IO, "cannot read %s: %s", snap->path, strerror(errno));
    r = read_entries(c, in, snap);
    fclose(in);
    if (r < 0)
        tv_known_snapshot_free(snap);
    return r;
}

void tv_known_snapshot_free(tv_known_snapshot *snap)
{
    if (snap) {
        free(snap->e);
        memset(snap, 0, sizeof *snap);
    }
}

int tv_known_vaults_check(tv_client *c, const tv_known_snapshot *snap, const tv_known_state *now)
{
    char lockp[PATH_MAX + 8], tmpp[PATH_MAX + 8], line[KNOWN_LINE_MAX];
    char vid[65], head[65], spk[65];
    const char *path = snap->path;
    FILE *in = NULL, *out = NULL;
    int lockfd = -1, fd = -1, found = 0, r = TV_ERR_INTERNAL;
    size_t total = 0;

    if (!snap->taken)
        return 0;
    /* Judged against what this user knew when the request was sent. */
    for (size_t i = 0; i < snap->n; i++)
        if (sodium_memcmp(snap->e[i].vault_id, now->vault_id, 32) == 0 &&
            (r = tv_known_older(c, &snap->e[i], now, path, 0)) < 0)
            return r;
    snprintf(lockp, sizeof lockp, "%s.lock", path);
    snprintf(tmpp, sizeof tmpp, "%s.tmp", path);
    if (make_parents(path) < 0)
        return tv_fail(c, TV_ERR_IO, "cannot create the directory of %s: %s", path,
                       strerror(errno));
    if ((lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
        flock(lockfd, LOCK_EX) != 0) {
        r = tv_fail(c, TV_ERR_IO, "cannot lock %s: %s", lockp, strerror(errno));
        goto out;
    }
    if ((fd = open(tmpp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
        !(out = fdopen(fd, "w"))) {
        r = tv_fail(c, TV_ERR_IO, "cannot write %s: %s", tmpp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (!(in = fopen(path, "re")) && errno != ENOENT) {
        r = tv_fail(c, TV_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (!in)
        fputs("# teevault known vaults: vault id, state version, audit seq, audit head,\n"
              "# signing key, time seen (the newest signed state seen; see teevault(1))\n",
              out);
    hex(vid, now->vault_id);
    hex(head, now->audit_head);
    hex(spk, now->sign_pk);
    while (in && fgets(line, sizeof line, in)) {
        tv_known_state k;
        int64_t seen = 0;
        total += strlen(line);
        if (total > KNOWN_MAX_BYTES) {
            r = tv_fail(c, TV_ERR_TOO_LARGE, "%s is larger than %u bytes", path, KNOWN_MAX_BYTES);
            goto out;
        }
        if (line[0] != '#' && parse_line(line, &k, &seen) == 0 &&
            sodium_memcmp(k.vault_id, now->vault_id, 32) == 0 && !found) {
            found = 1;
            /* Another client of this user recorded a newer state while this
             * request was in flight: keep it (not a rollback of this reply:
             * it was signed earlier). Another key or a fork still fails. */
            if (now->state_version < k.state_version || now->audit_seq < k.audit_seq) {
                if (sodium_memcmp(now->sign_pk, k.sign_pk, 32) != 0 &&
                    (r = tv_known_older(c, &k, now, path, seen)) < 0)
                    goto out;
            } else {
                if ((r = tv_known_older(c, &k, now, path, seen)) < 0)
                    goto out; /* the file is left as it was */
                fprintf(out, "%s %" PRIu64 " %" PRIu64 " %s %s %lld\n", vid, now->state_version,
                        now->audit_seq, head, spk, (long long)time(NULL));
                continue;
            }
        }
        fputs(line, out);
        if (!strchr(line, '\n'))
            fputc('\n', out);
    }
    if (!found)
        fprintf(out, "%s %" PRIu64 " %" PRIu64 " %s %s %lld\n", vid, now->state_version,
                now->audit_seq, head, spk, (long long)time(NULL));
    if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0) {
        out = NULL;
        r = tv_fail(c, TV_ERR_IO, "cannot write %s: %s", tmpp, strerror(errno));
        goto out;
    }
    out = NULL;
    if (rename(tmpp, path) != 0) {
        r = tv_fail(c, TV_ERR_IO, "cannot replace %s: %s", path, strerror(errno));
        goto out;
    }
    r = 0;
out:
    if (in)
        fclose(in);
    if (out) {
        fclose(out);
        unlink(tmpp);
    } else if (r < 0) {
        unlink(tmpp);
    }
    if (fd >= 0)
        close(fd);
    if (lockfd >= 0)
        close(lockfd); /* releases the flock */
    return r;
}
