/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_witness: checkpoint lines, the dir and command witnesses, the
 * start-up check and the publisher thread (contract in vault_witness.h).
 */
#define _GNU_SOURCE /* pipe2 */
#include "vault_witness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "vault_audit.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_ident.h"
#include "vault_log.h"

#define CKPT_MAGIC    "teevault-checkpoint-v1"
#define DIR_KEEP      16
#define CMD_TIMEOUT_S 30
#define CMD_OUT_MAX   (VAULT_CKPT_LINE_MAX * 4)

struct vault_witness {
    const vault_witness_ops *ops;
    char *path; /* dir: <dir>/<vault id hex>; command: the program */
    /* publisher */
    pthread_t thread;
    int thread_on;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    char pending[VAULT_CKPT_LINE_MAX]; /* "" = nothing to publish */
    seal_state last;                   /* last state handed to the thread */
    int have_last;
    unsigned failures; /* consecutive failed publications (logged) */
};

/* ---------------------------------------------------------------- lines */

int vault_ckpt_format(const seal_state *st, const uint8_t pk[32], const uint8_t sig[64], int64_t t,
                      char *out, size_t cap)
{
    char id[65], head[65], k[65], s[129];
    int n;
    sodium_bin2hex(id, sizeof id, st->vault_id, 32);
    sodium_bin2hex(head, sizeof head, st->audit_head, 32);
    sodium_bin2hex(k, sizeof k, pk, 32);
    sodium_bin2hex(s, sizeof s, sig, 64);
    n = snprintf(out, cap, "%s %s %" PRIu64 " %" PRIu64 " %s %s %lld %s\n", CKPT_MAGIC, id,
                 st->state_version, st->audit_seq, head, k, (long long)t, s);
    return n > 0 && (size_t)n < cap ? 0 : TV_ERR_TOO_LARGE;
}

static int hex_field(const char *p, size_t n, uint8_t *out)
{
    size_t got = 0;
    if (sodium_hex2bin(out, n, p, 2 * n, NULL, &got, NULL) != 0 || got != n)
        return -1;
    return 0;
}

static int strict_layout(const char *line)
{
    static const int numeric[8] = {0, 0, 1, 1, 0, 0, 1, 0};
    const char *p = line;
    for (int f = 0; f < 8; f++) {
        size_t n = 0;
        while (p[n] && p[n] != ' ' && p[n] != '\n') {
            if (numeric[f] ? (p[n] < '0' || p[n] > '9')
                           : !((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') ||
                               p[n] == '-'))
                return 0;
            n++;
        }
        if (n == 0 || (numeric[f] && n > 19))
            return 0;
        p += n;
        if (f < 7 && *p++ != ' ')
            return 0;
    }
    return *p == 0 || (p[0] == '\n' && p[1] == 0);
}

int vault_ckpt_parse(const char *line, seal_state *st, uint8_t pk[32], uint8_t sig[64])
{
    char magic[32], id[65], head[65], k[65], s[129], tail[2];
    unsigned long long sv, seq;
    long long t;
    seal_state o;

    /* Exactly: fields separated by one space, numbers plain decimal (no
     * sign, at most 19 digits), one optional final newline. */
    if (strlen(line) >= VAULT_CKPT_LINE_MAX || !strict_layout(line) ||
        sscanf(line, "%31s %64s %llu %llu %64s %64s %lld %128s %1s", magic, id, &sv, &seq, head, k,
               &t, s, tail) != 8 ||
        strcmp(magic, CKPT_MAGIC) != 0 || strlen(id) != 64 || strlen(head) != 64 ||
        strlen(k) != 64 || strlen(s) != 128)
        return TV_ERR_FORMAT;
    memset(&o, 0, sizeof o);
    if (hex_field(id, 32, o.vault_id) < 0 || hex_field(head, 32, o.audit_head) < 0 ||
        hex_field(k, 32, pk) < 0 || hex_field(s, 64, sig) < 0)
        return TV_ERR_FORMAT;
    o.state_version = sv;
    o.audit_seq = seq;
    *st = o;
    return 0;
}

/* ---------------------------------------------------------------- dir */

/* Publication numbers of the files in w->path, newest first (at most max). */
static size_t dir_numbers(const char *path, unsigned long long *nums, size_t max)
{
    DIR *d = opendir(path);
    struct dirent *e;
    size_t n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        unsigned long long x;
        char extra;
        if (sscanf(e->d_name, "ckpt-%20llu%c", &x, &extra) != 1 || strlen(e->d_name) != 25)
            continue;
        /* keep the `max` largest, sorted descending (insertion) */
        size_t i = n < max ? n++ : max;
        if (i == max && x <= nums[max - 1])
            continue;
        if (i == max)
            i = max - 1;
        while (i > 0 && nums[i - 1] < x) {
            nums[i] = nums[i - 1];
            i--;
        }
        nums[i] = x;
    }
    closedir(d);
    return n;
}

static int dir_publish(vault_witness *w, const char *line, size_t len)
{
    unsigned long long nums[DIR_KEEP + 1];
    char p[PATH_MAX], tmp[PATH_MAX];
    size_t n = dir_numbers(w->path, nums, DIR_KEEP + 1);
    unsigned long long next = n ? nums[0] + 1 : 1;
    int fd, r = TV_ERR_IO;

    snprintf(p, sizeof p, "%s/ckpt-%020llu", w->path, next);
    snprintf(tmp, sizeof tmp, "%s/.tmp-ckpt", w->path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
        return TV_ERR_IO;
    if (write(fd, line, len) == (ssize_t)len && fsync(fd) == 0)
        r = 0;
    close(fd);
    if (r == 0 && rename(tmp, p) != 0)
        r = TV_ERR_IO;
    if (r == 0) {
        int dfd = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        /* Keep the newest DIR_KEEP (this one included). */
        for (size_t i = DIR_KEEP - 1; i < n; i++) {
            snprintf(p, sizeof p, "%s/ckpt-%020llu", w->path, nums[i]);
            unlink(p);
        }
    } else {
        unlink(tmp);
    }
    return r;
}

static int dir_latest(vault_witness *w, char *buf, size_t cap)
{
    unsigned long long nums[1];
    char p[PATH_MAX];
    ssize_t got;
    int fd;

    if (dir_numbers(w->path, nums, 1) == 0)
        return TV_ERR_NOT_FOUND;
    snprintf(p, sizeof p, "%s/ckpt-%020llu", w->path, nums[0]);
    if ((fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        return TV_ERR_IO;
    got = read(fd, buf, cap - 1);
    close(fd);
    if (got < 0)
        return TV_ERR_IO;
    if ((size_t)got >= cap - 1)
        return TV_ERR_TOO_LARGE;
    buf[got] = 0;
    return 0;
}

static const vault_witness_ops dir_ops = {"dir", dir_publish, dir_latest};

/* ---------------------------------------------------------------- command */

/* Run `prog arg` with `in` on stdin; up to cap-1 bytes of stdout into out.
 * 0 when it exits 0 within CMD_TIMEOUT_S. */
static int run_cmd(const char *prog, const char *arg, const char *in, size_t in_len, char *out,
                   size_t cap)
{
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, st = 0, r = TV_ERR_IO;
    size_t got = 0, sent = 0;
    time_t deadline = time(NULL) + CMD_TIMEOUT_S;
    pid_t pid;

    if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0)
        goto out;
    if ((pid = fork()) < 0)
        goto out;
    if (pid == 0) {
        char *argv[] = {(char *)(uintptr_t)prog, (char *)(uintptr_t)arg, NULL};
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        /* The witness gets its pipes and stderr, none of the daemon's
         * sockets or database files. */
        for (int fd = 3; fd < 4096; fd++)
            close(fd);
        execv(prog, argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    pin[0] = pout[1] = -1;
    if (!in_len) {
        close(pin[1]);
        pin[1] = -1;
    }
    for (;;) {
        struct pollfd pf[2] = {{pout[0], POLLIN, 0}, {pin[1], POLLOUT, 0}};
        int np = pin[1] >= 0 ? 2 : 1, left = (int)(deadline - time(NULL));
        if (left <= 0 || poll(pf, (nfds_t)np, left * 1000) <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        if (np == 2 && (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t k = write(pin[1], in + sent, in_len - sent);
            if (k > 0)
                sent += (size_t)k;
            if (k <= 0 || sent == in_len) {
                close(pin[1]);
                pin[1] = -1;
            }
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char tmp[512];
            ssize_t k = read(pout[0], tmp, sizeof tmp);
            if (k <= 0)
                break; /* EOF */
            if (out && got + (size_t)k < cap) {
                memcpy(out + got, tmp, (size_t)k);
                got += (size_t)k;
            } else if (out) {
                kill(pid, SIGKILL);
                r = TV_ERR_TOO_LARGE;
                break;
            }
        }
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (r != TV_ERR_TOO_LARGE && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        r = 0;
    if (out)
        out[got] = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (pin[i] >= 0)
            close(pin[i]);
        if (pout[i] >= 0)
            close(pout[i]);
    }
    return r;
}

static int cmd_publish(vault_witness *w, const char *line, size_t len)
{
    return run_cmd(w->path, "publish", line, len, NULL, 0);
}

static int cmd_latest(vault_witness *w, char *buf, size_t cap)
{
    char out[CMD_OUT_MAX];
    char *nl, *last;
    int r;
    if ((r = run_cmd(w->path, "latest", NULL, 0, out, sizeof out)) < 0)
        return r;
    /* The last non-empty line. */
    while ((nl = strrchr(out, '\n')) && nl[1] == 0)
        *nl = 0;
    last = strrchr(out, '\n');
    last = last ? last + 1 : out;
    if (!*last)
        return TV_ERR_NOT_FOUND;
    if (strlen(last) + 1 > cap)
        return TV_ERR_TOO_LARGE;
    memcpy(buf, last, strlen(last) + 1);
    return 0;
}

static const vault_witness_ops cmd_ops = {"command", cmd_publish, cmd_latest};

/* ---------------------------------------------------------------- open */

int vault_witness_open(const vault_config *cfg, const uint8_t vault_id[32], vault_witness **out)
{
    vault_witness *w;
    char id[65], p[PATH_MAX];

    *out = NULL;
    if (!cfg || (!cfg->witness_dir && !cfg->witness_command))
        return 0;
    if (!(w = calloc(1, sizeof *w)))
        return TV_ERR_NOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (cfg->witness_dir) {
        sodium_bin2hex(id, sizeof id, vault_id, 32);
        if (snprintf(p, sizeof p, "%s/%s", cfg->witness_dir, id) >= (int)sizeof p) {
            vault_witness_free(w);
            return TV_ERR_INVALID;
        }
        if ((mkdir(p, 0755) != 0 && errno != EEXIST)) {
            vault_witness_free(w);
            return TV_ERR_IO;
        }
        w->ops = &dir_ops;
        w->path = strdup(p);
    } else {
        if (cfg->witness_command[0] != '/') {
            vault_witness_free(w);
            return TV_ERR_INVALID; /* an absolute path: no PATH lookup, no shell */
        }
        w->ops = &cmd_ops;
        w->path = strdup(cfg->witness_command);
    }
    if (!w->path) {
        vault_witness_free(w);
        return TV_ERR_NOMEM;
    }
    *out = w;
    return 0;
}

void vault_witness_free(vault_witness *w)
{
    if (!w)
        return;
    if (w->thread_on) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->path);
    free(w);
}

/* ---------------------------------------------------------------- publisher */

static void *publisher(void *arg)
{
    vault_witness *w = arg;
    char line[VAULT_CKPT_LINE_MAX];

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->pending[0])
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending[0] && w->stop)
            break;
        memcpy(line, w->pending, sizeof line);
        w->pending[0] = 0;
        pthread_mutex_unlock(&w->mu);
        int r = w->ops->publish(w, line, strlen(line));
        pthread_mutex_lock(&w->mu);
        if (r < 0) {
            if (w->failures++ == 0)
                vault_log(VAULT_LOG_WARN, "witness", "error", "cannot publish a checkpoint",
                          "witness", w->ops->name, "reason", tv_strerror(r), (const char *)NULL);
        } else if (w->failures) {
            w->failures = 0;
            vault_log(VAULT_LOG_INFO, "witness", "event", "publishing again", (const char *)NULL);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Sign the current state into a checkpoint line. */
static int make_line(struct vault *v, seal_state *st, char *line, size_t cap)
{
    uint8_t pk[32], sig[64];
    int r;
    if ((r = vault_ident_state(v, st)) < 0 || (r = vault_ident_sign_state(v, st, sig)) < 0 ||
        (r = vault_ident_pubkey(v, pk)) < 0)
        return r;
    return vault_ckpt_format(st, pk, sig, (int64_t)time(NULL), line, cap);
}

static int same_state(const seal_state *a, const seal_state *b)
{
    return a->state_version == b->state_version && a->audit_seq == b->audit_seq &&
           memcmp(a->audit_head, b->audit_head, 32) == 0;
}

void vault_witness_tick(struct vault *v)
{
    vault_witness *w = v ? v->witness : NULL;
    char line[VAULT_CKPT_LINE_MAX];
    seal_state st;

    if (!w || !w->thread_on || !v->kr)
        return;
    if (make_line(v, &st, line, sizeof line) < 0)
        return;
    if (w->have_last && same_state(&st, &w->last))
        return;
    pthread_mutex_lock(&w->mu);
    memcpy(w->pending, line, sizeof line); /* only the newest matters */
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->last = st;
    w->have_last = 1;
}

void vault_witness_stop(struct vault *v)
{
    vault_witness *w = v ? v->witness : NULL;
    if (!w)
        return;
    vault_witness_tick(v); /* the final state; the thread drains it before it stops */
    vault_witness_free(w);
    v->witness = NULL;
}

/* ---------------------------------------------------------------- start */

static int audit_override(struct vault *v, const char *detail)
{
    vault_call c;
    vault_principal p;
    MDB_txn *txn = NULL;
    int r;

    memset(&c, 0, sizeof c);
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "teevaultd --accept-rollback");
    c.v = v;
    c.principal = &p;
    c.service = "teevault.v1.Sys";
    c.method = "AcceptRollback";
    c.peer = "local";
    snprintf(c.request_id, sizeof c.request_id, "startup");
    snprintf(c.audit_detail, sizeof c.audit_detail, "%s", detail);
    if ((r = vault_db_wtxn(v->db, &txn)) < 0)
        return r;
    if ((r = vault_audit_append_txn(v, txn, &c, TV_OK)) < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    return vault_db_commit(txn);
}

int vault_witness_start(struct vault *v, int accept_rollback, char *why, size_t whylen)
{
    vault_witness *w = NULL;
    char line[VAULT_CKPT_LINE_MAX];
    seal_state now, seen;
    uint8_t vid[32], pk[32], wpk[32], sig[64], msg[SEAL_STATE_MSG_LEN];
    int found, r;

    if (why && whylen)
        why[0] = 0;
    if (!v || !v->cfg || !v->kr || v->witness || (!v->cfg->witness_dir && !v->cfg->witness_command))
        return 0;
    if ((r = vault_ident_id(v, vid)) < 0 || (r = vault_ident_pubkey(v, pk)) < 0)
        return r;
    if ((r = vault_witness_open(v->cfg, vid, &w)) < 0) {
        snprintf(why, whylen, "cannot open the witness: %s", tv_strerror(r));
        return r;
    }
    r = w->ops->latest(w, line, sizeof line);
    if (r < 0 && r != TV_ERR_NOT_FOUND) {
        snprintf(why, whylen, "cannot read the witness's newest checkpoint (%s witness): %s",
                 w->ops->name, tv_strerror(r));
        goto out; /* fail closed */
    }
    found = r == 0;
    if ((r = vault_ident_state(v, &now)) < 0) {
        snprintf(why, whylen, "cannot read the vault's state: %s", tv_strerror(r));
        goto out;
    }
    if (found) {
        if ((r = vault_ckpt_parse(line, &seen, wpk, sig)) < 0) {
            snprintf(why, whylen, "the witness's newest checkpoint is malformed");
            goto out;
        }
        seal_state_message(&seen, msg);
        if (sodium_memcmp(seen.vault_id, vid, 32) != 0 || sodium_memcmp(wpk, pk, 32) != 0 ||
            crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0) {
            snprintf(why, whylen,
                     "the witness's newest checkpoint is not signed by this vault (another "
                     "vault's witness, or forged)");
            r = TV_ERR_VERIFY;
            goto out;
        }
        /* Counters alone are not enough: each start commits, so a restored
         * copy started often enough overtakes them. The store's chain must
         * also hold the witness's head at its seq (unless archived). */
        uint32_t at = SEAL_AUDIT_AT_ARCHIVED;
        uint8_t hash[32];
        int rolled = seen.state_version > now.state_version || seen.audit_seq > now.audit_seq;
        if (!rolled && seen.audit_seq > 0) {
            if ((r = vault_audit_hash_at(v, seen.audit_seq, &at, hash)) < 0) {
                snprintf(why, whylen, "cannot read the audit chain: %s", tv_strerror(r));
                goto out;
            }
            rolled = at == SEAL_AUDIT_AT_FOUND && sodium_memcmp(hash, seen.audit_head, 32) != 0;
        }
        if (rolled) {
            char d[128];
            snprintf(d, sizeof d,
                     "rollback accepted: witness state version %" PRIu64 " audit seq %" PRIu64
                     ", store %" PRIu64 "/%" PRIu64 "%s",
                     seen.state_version, seen.audit_seq, now.state_version, now.audit_seq,
                     at == SEAL_AUDIT_AT_FOUND ? " (forked)" : "");
            if (!accept_rollback) {
                snprintf(why, whylen,
                         "the state was rolled back%s: the witness holds state version %" PRIu64
                         " (audit seq %" PRIu64 ") but the store is at %" PRIu64
                         " (audit seq %" PRIu64
                         ")%s; restore the newest state directory, or start once with "
                         "--accept-rollback (audited) if this restore is intended",
                         at == SEAL_AUDIT_AT_FOUND ? " or forked" : "", seen.state_version,
                         seen.audit_seq, now.state_version, now.audit_seq,
                         at == SEAL_AUDIT_AT_FOUND
                             ? " and its audit record at that seq is not the witness's"
                             : "");
                r = TV_ERR_ROLLBACK;
                goto out;
            }
            if ((r = audit_override(v, d)) < 0) {
                snprintf(why, whylen, "cannot audit the rollback override: %s", tv_strerror(r));
                goto out;
            }
            vault_log(VAULT_LOG_WARN, "witness", "event", d, (const char *)NULL);
        }
    }
    /* The current state is the witness's newest from now on. */
    if ((r = make_line(v, &now, line, sizeof line)) < 0 ||
        (r = w->ops->publish(w, line, strlen(line))) < 0) {
        snprintf(why, whylen, "cannot publish to the witness (%s): %s", w->ops->name,
                 tv_strerror(r));
        goto out;
    }
    w->last = now;
    w->have_last = 1;
    if (pthread_create(&w->thread, NULL, publisher, w) != 0) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    w->thread_on = 1;
    v->witness = w;
    w = NULL;
    r = 0;
out:
    vault_witness_free(w);
    return r;
}
