/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crash_load: the client side of the crash test (tests/crash/crash_test.py).
 *
 *   crash_load load   --addr A --token-file F --tag T --journal J
 *                     [--clients N] [--keys K] [--value-size B] [--max-ms MS]
 *                     [--ready FILE]
 *   crash_load verify --addr A --token-file F --journal J [--tag T]
 *
 * load: N threads, one libteevault connection each, run a mixed load until
 * their connection fails (the daemon was killed) or MS pass: Puts of unique
 * values to "crash/<T>/t<thread>/k<0..K-1>" (60 %) and Gets of a name the
 * thread already wrote (40 %). A write goes into the journal only after its
 * acknowledgement arrived ("W\tname\tversion\tvalue"), a read likewise with
 * the version it returned ("R\tname\tversion"). When every thread stopped,
 * the journal lines are appended to J and fsync'ed. --ready names a file
 * created once every thread is connected (the orchestrator waits for it
 * before it starts its kill timer). Prints "acked_writes=.. acked_reads=..
 * failed=..".
 *
 * verify: every W line of J (those of tag T only, with --tag) is read back
 * with Get(name, version) and must return exactly its value; the latest
 * version of each name must be at least the highest acknowledged one.
 * Prints "checked=.. lost=.. mismatched=.."; exit 0 only when both are 0.
 *
 * Exit codes: 0 ok, 1 lost or mismatched writes / runtime error, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "teevault.h"

#define NAME_MAX_LEN 160

typedef struct entry {
    char kind; /* 'W' or 'R' */
    char name[NAME_MAX_LEN];
    uint64_t version;
    char *value; /* W only, NUL-terminated hex text */
} entry;

typedef struct worker {
    pthread_t th;
    int idx;
    entry *log;
    size_t n, cap;
    uint64_t failed;      /* calls that got no acknowledgement */
    int last_err;         /* the error that stopped the thread */
    char last_msg[256];   /* its message */
    uint64_t written[64]; /* per key: highest acknowledged version, 0 = none */
} worker;

static const char *g_addr, *g_token_file, *g_tag, *g_journal, *g_ready;
static unsigned g_clients = 4, g_keys = 16, g_value_size = 64, g_max_ms = 30000;
static char g_token[256];
static volatile int g_stop;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned g_connected;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int read_token(void)
{
    FILE *f = fopen(g_token_file, "r");
    if (!f) {
        fprintf(stderr, "crash_load: cannot open %s: %s\n", g_token_file, strerror(errno));
        return -1;
    }
    if (!fgets(g_token, sizeof(g_token), f)) {
        fclose(f);
        fprintf(stderr, "crash_load: empty token file\n");
        return -1;
    }
    fclose(f);
    g_token[strcspn(g_token, "\r\n")] = 0;
    return 0;
}

static int open_client(tv_client **out)
{
    tv_client_opts o;
    tv_client *c = NULL;
    memset(&o, 0, sizeof(o));
    o.timeout_ms = 10000;
    int r = tv_client_open(g_addr, &o, &c);
    if (r < 0)
        return r;
    if ((r = tv_client_set_token(c, g_token)) < 0) {
        tv_client_close(c);
        return r;
    }
    *out = c;
    return 0;
}

static int log_add(worker *w, char kind, const char *name, uint64_t version, const char *value)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 1024;
        entry *nl = realloc(w->log, nc * sizeof(*nl));
        if (!nl)
            return -1;
        w->log = nl;
        w->cap = nc;
    }
    entry *e = &w->log[w->n];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->version = version;
    if (value && !(e->value = strdup(value)))
        return -1;
    w->n++;
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    tv_client *c = NULL;
    char name[NAME_MAX_LEN];
    char *value = malloc(g_value_size + 1);
    uint64_t seq = 0, deadline;
    tv_put_opts po = {.max_versions = 1000};

    if (!value)
        return NULL;
    if ((w->last_err = open_client(&c)) < 0) {
        snprintf(w->last_msg, sizeof(w->last_msg), "connect: %s", tv_strerror(w->last_err));
        pthread_mutex_lock(&g_mu);
        g_connected++;
        pthread_mutex_unlock(&g_mu);
        free(value);
        return NULL;
    }
    pthread_mutex_lock(&g_mu);
    g_connected++;
    pthread_mutex_unlock(&g_mu);
    deadline = now_ms() + g_max_ms;
    while (!g_stop && now_ms() < deadline) {
        unsigned k = randombytes_uniform(g_keys);
        snprintf(name, sizeof(name), "crash/%s/t%d/k%u", g_tag, w->idx, k);
        if (!w->written[k] || randombytes_uniform(100) < 60) {
            /* Unique value: tag, thread, sequence, then random hex. */
            int n = snprintf(value, g_value_size + 1, "%s-t%d-n%llu-", g_tag, w->idx,
                             (unsigned long long)seq++);
            size_t have = n < 0 ? 0 : (size_t)n > g_value_size ? g_value_size : (size_t)n;
            while (have < g_value_size) {
                static const char hx[] = "0123456789abcdef";
                value[have++] = hx[randombytes_uniform(16)];
            }
            value[g_value_size] = 0;
            uint64_t ver = 0;
            int r = tv_secret_put(c, name, value, g_value_size, &po, &ver);
            if (r < 0) {
                w->failed++;
                w->last_err = r;
                snprintf(w->last_msg, sizeof(w->last_msg), "put: %s", tv_client_last_error(c));
                break;
            }
            if (ver <= w->written[k]) {
                w->last_err = TV_ERR_INTERNAL;
                snprintf(w->last_msg, sizeof(w->last_msg),
                         "put of %s acknowledged version %llu after %llu", name,
                         (unsigned long long)ver, (unsigned long long)w->written[k]);
                break;
            }
            w->written[k] = ver;
            if (log_add(w, 'W', name, ver, value) < 0)
                break;
        } else {
            uint8_t *v = NULL;
            size_t len = 0;
            uint64_t ver = 0;
            int r = tv_secret_get(c, name, 0, &v, &len, &ver);
            if (r < 0) {
                w->failed++;
                w->last_err = r;
                snprintf(w->last_msg, sizeof(w->last_msg), "get: %s", tv_client_last_error(c));
                break;
            }
            tv_free_secret(v);
            if (ver < w->written[k]) {
                w->last_err = TV_ERR_INTERNAL;
                snprintf(w->last_msg, sizeof(w->last_msg),
                         "get of %s returned version %llu, below the acknowledged %llu", name,
                         (unsigned long long)ver, (unsigned long long)w->written[k]);
                break;
            }
            if (log_add(w, 'R', name, ver, NULL) < 0)
                break;
        }
    }
    tv_client_close(c);
    free(value);
    return NULL;
}

static int cmd_load(void)
{
    worker *ws = calloc(g_clients, sizeof(*ws));
    uint64_t nw = 0, nr = 0, nf = 0;
    int rc = 1;
    FILE *j = NULL;

    if (!ws)
        return 1;
    if (g_keys > 64)
        g_keys = 64;
    for (unsigned i = 0; i < g_clients; i++) {
        ws[i].idx = (int)i;
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "crash_load: pthread_create failed\n");
            g_stop = 1;
            g_clients = i;
            break;
        }
    }
    if (g_ready) {
        for (;;) {
            pthread_mutex_lock(&g_mu);
            unsigned n = g_connected;
            pthread_mutex_unlock(&g_mu);
            if (n >= g_clients)
                break;
            usleep(1000);
        }
        int fd = open(g_ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    for (unsigned i = 0; i < g_clients; i++)
        pthread_join(ws[i].th, NULL);

    if (!(j = fopen(g_journal, "a"))) {
        fprintf(stderr, "crash_load: cannot open %s: %s\n", g_journal, strerror(errno));
        goto out;
    }
    for (unsigned i = 0; i < g_clients; i++) {
        for (size_t k = 0; k < ws[i].n; k++) {
            const entry *e = &ws[i].log[k];
            if (e->kind == 'W') {
                fprintf(j, "W\t%s\t%llu\t%s\n", e->name, (unsigned long long)e->version, e->value);
                nw++;
            } else {
                fprintf(j, "R\t%s\t%llu\n", e->name, (unsigned long long)e->version);
                nr++;
            }
        }
        nf += ws[i].failed;
    }
    if (fflush(j) != 0 || fsync(fileno(j)) != 0) {
        fprintf(stderr, "crash_load: cannot write %s\n", g_journal);
        goto out;
    }
    printf("acked_writes=%llu acked_reads=%llu failed=%llu\n", (unsigned long long)nw,
           (unsigned long long)nr, (unsigned long long)nf);
    for (unsigned i = 0; i < g_clients; i++)
        if (ws[i].last_err == TV_ERR_INTERNAL) {
            fprintf(stderr, "crash_load: thread %u: %s\n", i, ws[i].last_msg);
            goto out;
        } else if (ws[i].last_msg[0]) {
            printf("thread %u stopped: %s (%s)\n", i, ws[i].last_msg, tv_errname(ws[i].last_err));
        }
    rc = 0;
out:
    if (j)
        fclose(j);
    for (unsigned i = 0; i < g_clients; i++) {
        for (size_t k = 0; k < ws[i].n; k++)
            free(ws[i].log[k].value);
        free(ws[i].log);
    }
    free(ws);
    return rc;
}

/* Highest acknowledged version per name (small open-addressing table). */
typedef struct maxent {
    char *name;
    uint64_t version;
} maxent;

static maxent *g_max;
static size_t g_max_cap, g_max_n;

static uint64_t fnv(const char *p)
{
    uint64_t hv = 1469598103934665603ull;
    for (; *p; p++)
        hv = (hv ^ (uint8_t)*p) * 1099511628211ull;
    return hv;
}

static maxent *max_slot(const char *name)
{
    if (g_max_n * 2 >= g_max_cap) {
        size_t nc = g_max_cap ? g_max_cap * 2 : 1024;
        maxent *nt = calloc(nc, sizeof(*nt));
        if (!nt)
            return NULL;
        for (size_t i = 0; i < g_max_cap; i++) {
            if (!g_max[i].name)
                continue;
            size_t s = (size_t)(fnv(g_max[i].name) & (nc - 1));
            while (nt[s].name)
                s = (s + 1) & (nc - 1);
            nt[s] = g_max[i];
        }
        free(g_max);
        g_max = nt;
        g_max_cap = nc;
    }
    size_t s = (size_t)(fnv(name) & (g_max_cap - 1));
    while (g_max[s].name && strcmp(g_max[s].name, name) != 0)
        s = (s + 1) & (g_max_cap - 1);
    if (!g_max[s].name) {
        if (!(g_max[s].name = strdup(name)))
            return NULL;
        g_max_n++;
    }
    return &g_max[s];
}

static int cmd_verify(void)
{
    FILE *j = fopen(g_journal, "r");
    tv_client *c = NULL;
    char *line = NULL;
    size_t cap = 0;
    uint64_t checked = 0, lost = 0, bad = 0, reads = 0;
    char prefix[96];
    int r;

    if (!j) {
        fprintf(stderr, "crash_load: cannot open %s: %s\n", g_journal, strerror(errno));
        return 1;
    }
    snprintf(prefix, sizeof(prefix), "crash/%s/", g_tag ? g_tag : "");
    if ((r = open_client(&c)) < 0) {
        fprintf(stderr, "crash_load: connect: %s\n", tv_strerror(r));
        fclose(j);
        return 1;
    }
    while (getline(&line, &cap, j) > 0) {
        line[strcspn(line, "\n")] = 0;
        char *kind = strtok(line, "\t"), *name = strtok(NULL, "\t"), *ver = strtok(NULL, "\t"),
             *val = strtok(NULL, "\t");
        if (!kind || !name || !ver) {
            fprintf(stderr, "crash_load: malformed journal line\n");
            bad++;
            continue;
        }
        if (g_tag && strncmp(name, prefix, strlen(prefix)) != 0)
            continue;
        if (kind[0] == 'R') {
            reads++;
            continue;
        }
        if (kind[0] != 'W' || !val)
            continue;
        uint64_t version = strtoull(ver, NULL, 10);
        maxent *m = max_slot(name);
        if (!m) {
            fprintf(stderr, "crash_load: out of memory\n");
            break;
        }
        if (version > m->version)
            m->version = version;
        uint8_t *v = NULL;
        size_t len = 0;
        uint64_t got = 0;
        checked++;
        r = tv_secret_get(c, name, version, &v, &len, &got);
        if (r == TV_ERR_NOT_FOUND) {
            lost++;
            fprintf(stderr, "LOST: %s version %s (acknowledged) is not in the vault\n", name, ver);
            continue;
        }
        if (r < 0) {
            fprintf(stderr, "crash_load: get %s v%s: %s\n", name, ver, tv_client_last_error(c));
            lost++;
            continue;
        }
        if (got != version || len != strlen(val) || memcmp(v, val, len) != 0) {
            bad++;
            fprintf(stderr, "MISMATCH: %s version %s holds another value (got version %llu)\n",
                    name, ver, (unsigned long long)got);
        }
        tv_free_secret(v);
    }
    free(line);
    fclose(j);
    /* The latest version of each name is at least the highest acknowledged. */
    for (size_t i = 0; i < g_max_cap; i++) {
        if (!g_max[i].name)
            continue;
        uint8_t *v = NULL;
        size_t len = 0;
        uint64_t got = 0;
        r = tv_secret_get(c, g_max[i].name, 0, &v, &len, &got);
        if (r < 0 || got < g_max[i].version) {
            lost++;
            fprintf(stderr, "LOST: latest version of %s is %llu, below the acknowledged %llu\n",
                    g_max[i].name, (unsigned long long)got, (unsigned long long)g_max[i].version);
        }
        tv_free_secret(v);
        free(g_max[i].name);
    }
    free(g_max);
    tv_client_close(c);
    printf("checked=%llu lost=%llu mismatched=%llu acked_reads=%llu\n", (unsigned long long)checked,
           (unsigned long long)lost, (unsigned long long)bad, (unsigned long long)reads);
    return lost || bad ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: crash_load load --addr A --token-file F --tag T --journal J [--clients N] "
               "[--keys K] [--value-size B] [--max-ms MS] [--ready FILE]\n"
               "       crash_load verify --addr A --token-file F --journal J [--tag T]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"addr", required_argument, NULL, 'a'},       {"token-file", required_argument, NULL, 't'},
        {"tag", required_argument, NULL, 'g'},        {"journal", required_argument, NULL, 'j'},
        {"clients", required_argument, NULL, 'c'},    {"keys", required_argument, NULL, 'k'},
        {"value-size", required_argument, NULL, 's'}, {"max-ms", required_argument, NULL, 'm'},
        {"ready", required_argument, NULL, 'r'},      {0},
    };
    int ch;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *mode = argv[1];
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'a':
            g_addr = optarg;
            break;
        case 't':
            g_token_file = optarg;
            break;
        case 'g':
            g_tag = optarg;
            break;
        case 'j':
            g_journal = optarg;
            break;
        case 'c':
            g_clients = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'k':
            g_keys = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            g_value_size = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'm':
            g_max_ms = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            g_ready = optarg;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !g_addr || !g_token_file || !g_journal || !g_clients || !g_keys ||
        g_value_size < 16 || g_value_size > 4096) {
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0 || read_token() < 0)
        return 1;
    if (strcmp(mode, "load") == 0) {
        if (!g_tag || strchr(g_tag, '/') || strchr(g_tag, '\t')) {
            usage(stderr);
            return 2;
        }
        return cmd_load();
    }
    if (strcmp(mode, "verify") == 0)
        return cmd_verify();
    usage(stderr);
    return 2;
}
