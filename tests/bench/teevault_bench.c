/*
 * teevault-bench: request throughput and latency of a running teevaultd
 * (issue 7, item 1), driven through libteevault exactly as an application
 * would drive it.
 *
 *   teevault-bench --addr ADDR --token-file FILE --op get|put|attest|attest-get
 *                  --connections N --requests M --value-size BYTES
 *                  [--keys K] [--warmup W] [--sim-platform DIR] [--format text|json]
 *
 * N threads, each with its own tv_client (one connection, blocking calls).
 * Before measuring, the bench prepares its own data with the token in FILE
 * (it must be allowed to write policies, functions and secrets: the root
 * token of a --dev vault): K secrets of BYTES bytes under bench/<pid>/, and
 * for attest/attest-get a function identity (sim evidence, pinned
 * measurement and code hash) bound to a read policy on those secrets.
 *
 *   get         Secrets.Get with the token (audited read: group commit)
 *   put         Secrets.Put of a new version (audit record in the write txn)
 *   attest      one complete function attestation per request
 *               (Challenge + sim evidence + Attest)
 *   attest-get  each thread attests once, then Secrets.Get over the session
 *               (the value sealed to the session key, opened by the library)
 *
 * Each thread runs W/N warm-up requests (default W = M/10), all threads meet
 * at a barrier, then M/N measured requests each. Latency is measured per
 * request with CLOCK_MONOTONIC; ops_per_sec is M over the wall time from the
 * barrier to the last thread's end. sim evidence for attest needs the sim
 * platform directory the vault pins: a --dev vault's state directory, which
 * is also where its root-token file lives (the default).
 *
 * Output: one line of text, or with --format json one object with exactly
 * the keys op, connections, requests, ops_per_sec, p50_us, p99_us, p999_us.
 * Exit 0 on success, 1 when any request failed or the set-up failed, 2 on
 * usage errors. The token is read from a file, never from argv.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "teevault.h"

enum bench_op { OP_GET, OP_PUT, OP_ATTEST, OP_ATTEST_GET };

typedef struct bench_cfg {
    const char *addr;
    const char *token_file;
    const char *sim_platform;
    enum bench_op op;
    const char *op_name;
    int connections;
    long requests;
    long warmup;
    size_t value_size;
    int keys;
    int json;
} bench_cfg;

/* Shared, read-only while the threads run. */
static bench_cfg g_cfg;
static char g_token[1024];
static char g_prefix[64];  /* bench/<pid> */
static char g_fn_name[64]; /* bench-fn-<pid> */
static char g_tmp[] = "/tmp/teevault-bench-XXXXXX";
static char g_runtime[600]; /* sim measurement file */
static uint8_t g_code_hash[32];
static uint8_t *g_value;
static pthread_barrier_t g_ready, g_go;

typedef struct worker {
    pthread_t th;
    int idx;
    long warm, count;
    uint64_t *lat_ns; /* count entries */
    long errors;
    int last_err;
    char last_msg[200];
} worker;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void key_name(char *buf, size_t n, long i)
{
    snprintf(buf, n, "%s/k%06ld", g_prefix, i % g_cfg.keys);
}

static void attest_opts(int idx, tv_attest_opts *o, char *st, size_t stn)
{
    snprintf(st, stn, "%s/rt-%d", g_tmp, idx);
    (void)mkdir(st, 0700);
    memset(o, 0, sizeof *o);
    o->tee = "sim";
    o->tee_root = g_cfg.sim_platform;
    o->sim_state_dir = st;
    o->sim_measurement_file = g_runtime;
}

/* One request of the configured kind. i numbers the thread's requests. */
static int one(tv_client *c, tv_session *s, const tv_attest_opts *ao, worker *w, long i)
{
    char name[128];
    uint8_t *v = NULL;
    size_t len = 0;
    int r;

    key_name(name, sizeof name, (long)w->idx * 7919 + i);
    switch (g_cfg.op) {
    case OP_GET:
        r = tv_secret_get(c, name, 0, &v, &len, NULL);
        break;
    case OP_PUT:
        return tv_secret_put(c, name, g_value, g_cfg.value_size, NULL, NULL);
    case OP_ATTEST: {
        tv_session *t = NULL;
        r = tv_attest_function(c, g_fn_name, g_code_hash, sizeof g_code_hash, ao, &t);
        tv_session_free(t);
        return r;
    }
    case OP_ATTEST_GET:
        r = tv_secrets_get(s, name, &v, &len);
        break;
    default:
        return TV_ERR_INTERNAL;
    }
    if (r == 0 && len != g_cfg.value_size)
        r = TV_ERR_INTEGRITY; /* not the value we stored */
    tv_free_secret(v);
    return r;
}

static void note_err(worker *w, tv_client *c, int r)
{
    w->errors++;
    w->last_err = r;
    snprintf(w->last_msg, sizeof w->last_msg, "%s", c ? tv_client_last_error(c) : "");
}

static void *work(void *arg)
{
    worker *w = arg;
    tv_client *c = NULL;
    tv_session *s = NULL;
    tv_attest_opts ao;
    char st[700];
    int r, ok = 1;

    attest_opts(w->idx, &ao, st, sizeof st);
    if ((r = tv_client_open(g_cfg.addr, NULL, &c)) < 0) {
        note_err(w, c, r);
        ok = 0;
    } else if (g_cfg.op == OP_GET || g_cfg.op == OP_PUT) {
        if ((r = tv_client_set_token(c, g_token)) < 0) {
            note_err(w, c, r);
            ok = 0;
        }
    } else if (g_cfg.op == OP_ATTEST_GET) {
        if ((r = tv_attest_function(c, g_fn_name, g_code_hash, sizeof g_code_hash, &ao, &s)) < 0) {
            note_err(w, c, r);
            ok = 0;
        }
    }
    for (long i = 0; ok && i < w->warm; i++) {
        if ((r = one(c, s, &ao, w, i)) < 0) {
            note_err(w, c, r);
            ok = 0;
        }
    }
    pthread_barrier_wait(&g_ready);
    pthread_barrier_wait(&g_go);
    for (long i = 0; ok && i < w->count; i++) {
        uint64_t t0 = now_ns();
        r = one(c, s, &ao, w, w->warm + i);
        w->lat_ns[i] = now_ns() - t0;
        if (r < 0) {
            note_err(w, c, r);
            ok = 0; /* a broken connection would only repeat the error */
        }
    }
    tv_session_free(s);
    tv_client_close(c);
    return NULL;
}

static int read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        fprintf(stderr, "teevault-bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(g_token, 1, sizeof g_token - 1, f);
    fclose(f);
    while (n > 0 && (g_token[n - 1] == '\n' || g_token[n - 1] == '\r'))
        n--;
    g_token[n] = '\0';
    if (n == 0) {
        fprintf(stderr, "teevault-bench: %s: empty token file\n", path);
        return -1;
    }
    return 0;
}

static int setup_fail(tv_client *c, const char *what, int r)
{
    fprintf(stderr, "teevault-bench: set-up: %s: %s (%s)\n", what, tv_strerror(r),
            c ? tv_client_last_error(c) : "");
    return r;
}

/* Secrets (and for attest ops the function identity and its read policy). */
static int prepare(void)
{
    tv_client *c = NULL;
    char name[128], pol[160], doc[600], mh[65], ch[65];
    uint8_t meas[32];
    int r;

    if ((r = tv_client_open(g_cfg.addr, NULL, &c)) < 0) {
        r = setup_fail(c, "connect", r);
        goto out;
    }
    if ((r = tv_client_set_token(c, g_token)) < 0) {
        r = setup_fail(c, "token", r);
        goto out;
    }
    for (int i = 0; i < g_cfg.keys; i++) {
        key_name(name, sizeof name, i);
        if ((r = tv_secret_put(c, name, g_value, g_cfg.value_size, NULL, NULL)) < 0) {
            r = setup_fail(c, "put", r);
            goto out;
        }
    }
    if (g_cfg.op == OP_ATTEST || g_cfg.op == OP_ATTEST_GET) {
        char *acl[1] = {pol};
        tv_function_info fi = {0};
        FILE *f;

        snprintf(g_runtime, sizeof g_runtime, "%s/runtime.bin", g_tmp);
        if (!(f = fopen(g_runtime, "w")) || fputs("teevault-bench runtime", f) < 0 ||
            fclose(f) != 0) {
            fprintf(stderr, "teevault-bench: %s: %s\n", g_runtime, strerror(errno));
            r = TV_ERR_IO;
            goto out;
        }
        crypto_hash_sha256(meas, (const uint8_t *)"teevault-bench runtime", 22);
        crypto_hash_sha256(g_code_hash, (const uint8_t *)"teevault-bench code", 19);
        sodium_bin2hex(mh, sizeof mh, meas, sizeof meas);
        sodium_bin2hex(ch, sizeof ch, g_code_hash, sizeof g_code_hash);
        snprintf(pol, sizeof pol, "%s-read", g_fn_name);
        snprintf(doc, sizeof doc, "path \"%s/*\" { capabilities = [\"read\"] }\n", g_prefix);
        if ((r = tv_policy_write(c, pol, doc)) < 0) {
            r = setup_fail(c, "policy write", r);
            goto out;
        }
        snprintf(doc, sizeof doc,
                 "{\"evidence_type\":\"sim\",\"measurement\":\"%s\",\"code_hash\":\"%s\"}", mh, ch);
        fi.name = g_fn_name;
        fi.policy = doc;
        fi.acl_policies = acl;
        fi.n_acl_policies = 1;
        if ((r = tv_function_write(c, &fi)) < 0) {
            r = setup_fail(c, "function write", r);
            goto out;
        }
    }
    r = 0;
out:
    tv_client_close(c);
    return r;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values, in µs. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
    size_t k = (size_t)(p * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1e3;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: teevault-bench --addr ADDR --token-file FILE --op get|put|attest|attest-get\n"
            "                      --connections N --requests M --value-size BYTES\n"
            "                      [--keys K] [--warmup W] [--sim-platform DIR]\n"
            "                      [--format text|json]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"addr", required_argument, NULL, 'a'},
        {"token-file", required_argument, NULL, 't'},
        {"op", required_argument, NULL, 'o'},
        {"connections", required_argument, NULL, 'c'},
        {"requests", required_argument, NULL, 'n'},
        {"value-size", required_argument, NULL, 'd'},
        {"keys", required_argument, NULL, 'k'},
        {"warmup", required_argument, NULL, 'w'},
        {"sim-platform", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bench_cfg *cfg = &g_cfg;
    worker *ws = NULL;
    uint64_t *all = NULL;
    long total = 0, errors = 0;
    int o, rc = 1, tmp_made = 0;
    char tokdir[1024];
    uint64_t t0, t1;

    cfg->connections = 1;
    cfg->requests = 10000;
    cfg->value_size = 64;
    cfg->keys = -1;
    cfg->warmup = -1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'a':
            cfg->addr = optarg;
            break;
        case 't':
            cfg->token_file = optarg;
            break;
        case 'o':
            cfg->op_name = optarg;
            break;
        case 'c':
            cfg->connections = atoi(optarg);
            break;
        case 'n':
            cfg->requests = atol(optarg);
            break;
        case 'd':
            cfg->value_size = (size_t)atol(optarg);
            break;
        case 'k':
            cfg->keys = atoi(optarg);
            break;
        case 'w':
            cfg->warmup = atol(optarg);
            break;
        case 'p':
            cfg->sim_platform = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "json") == 0)
                cfg->json = 1;
            else if (strcmp(optarg, "text") != 0) {
                usage();
                return 2;
            }
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (optind != argc || !cfg->addr || !cfg->token_file || !cfg->op_name) {
        usage();
        return 2;
    }
    if (strcmp(cfg->op_name, "get") == 0)
        cfg->op = OP_GET;
    else if (strcmp(cfg->op_name, "put") == 0)
        cfg->op = OP_PUT;
    else if (strcmp(cfg->op_name, "attest") == 0)
        cfg->op = OP_ATTEST;
    else if (strcmp(cfg->op_name, "attest-get") == 0)
        cfg->op = OP_ATTEST_GET;
    else {
        usage();
        return 2;
    }
    if (cfg->connections < 1 || cfg->connections > 4096 || cfg->requests < cfg->connections ||
        cfg->requests > 100000000L || cfg->value_size > (1u << 20)) {
        fprintf(stderr, "teevault-bench: need 1 <= connections <= 4096, connections <= requests "
                        "<= 1e8, value-size <= 1 MiB\n");
        return 2;
    }
    if (cfg->keys < 0)
        cfg->keys = cfg->connections * 4 < 256 ? cfg->connections * 4 : 256;
    if (cfg->keys < 1 || cfg->keys > 1000000)
        return 2;
    if (cfg->warmup < 0)
        cfg->warmup = cfg->requests / 10;
    if (!cfg->sim_platform) {
        /* A --dev vault's root-token lives in its state dir, the sim platform dir. */
        snprintf(tokdir, sizeof tokdir, "%s", cfg->token_file);
        cfg->sim_platform = dirname(tokdir);
    }
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    if (read_token(cfg->token_file) < 0)
        return 1;
    if (!mkdtemp(g_tmp)) {
        perror("teevault-bench: mkdtemp");
        goto out;
    }
    tmp_made = 1;
    snprintf(g_prefix, sizeof g_prefix, "bench/%ld", (long)getpid());
    snprintf(g_fn_name, sizeof g_fn_name, "bench-fn-%ld", (long)getpid());
    if (!(g_value = malloc(cfg->value_size ? cfg->value_size : 1)))
        goto out;
    for (size_t i = 0; i < cfg->value_size; i++)
        g_value[i] = (uint8_t)('a' + i % 26);
    if (prepare() < 0)
        goto out;

    if (!(ws = calloc((size_t)cfg->connections, sizeof *ws)) ||
        !(all = malloc((size_t)cfg->requests * sizeof *all)))
        goto out;
    pthread_barrier_init(&g_ready, NULL, (unsigned)cfg->connections + 1);
    pthread_barrier_init(&g_go, NULL, (unsigned)cfg->connections + 1);
    for (int i = 0; i < cfg->connections; i++) {
        ws[i].idx = i;
        ws[i].count = cfg->requests / cfg->connections + (i < cfg->requests % cfg->connections);
        ws[i].warm = cfg->warmup / cfg->connections;
        ws[i].lat_ns = all + total;
        total += ws[i].count;
        if (pthread_create(&ws[i].th, NULL, work, &ws[i]) != 0) {
            fprintf(stderr, "teevault-bench: pthread_create failed\n");
            exit(1); /* threads wait at a barrier that can no longer fill */
        }
    }
    pthread_barrier_wait(&g_ready); /* everyone connected and warmed up */
    t0 = now_ns();
    pthread_barrier_wait(&g_go);
    for (int i = 0; i < cfg->connections; i++)
        pthread_join(ws[i].th, NULL);
    t1 = now_ns();
    pthread_barrier_destroy(&g_ready);
    pthread_barrier_destroy(&g_go);
    for (int i = 0; i < cfg->connections; i++) {
        if (ws[i].errors) {
            if (!errors)
                fprintf(stderr, "teevault-bench: %s failed: %s (%s)\n", cfg->op_name,
                        tv_strerror(ws[i].last_err), ws[i].last_msg);
            errors += ws[i].errors;
        }
    }
    if (errors) {
        fprintf(stderr, "teevault-bench: %ld connection(s) failed\n", errors);
        goto out;
    }
    qsort(all, (size_t)total, sizeof *all, cmp_u64);
    {
        double secs = (double)(t1 - t0) / 1e9;
        double ops = (double)total / secs;
        double p50 = pct_us(all, (size_t)total, 0.50), p99 = pct_us(all, (size_t)total, 0.99),
               p999 = pct_us(all, (size_t)total, 0.999);
        if (cfg->json)
            printf("{\"op\":\"%s\",\"connections\":%d,\"requests\":%ld,\"ops_per_sec\":%.1f,"
                   "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f}\n",
                   cfg->op_name, cfg->connections, total, ops, p50, p99, p999);
        else
            printf("%-10s connections=%-4d requests=%-8ld %10.0f ops/s   p50 %8.1f us   p99 %8.1f "
                   "us   p99.9 %8.1f us\n",
                   cfg->op_name, cfg->connections, total, ops, p50, p99, p999);
    }
    rc = 0;
out:
    sodium_memzero(g_token, sizeof g_token);
    free(ws);
    free(all);
    free(g_value);
    if (tmp_made)
        (void)nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
