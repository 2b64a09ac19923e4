/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_attest: function attestation throughput (issue 5, done-when).
 *
 * Starts the real teevaultd (--dev, sim backend) on a temp state dir,
 * registers a function (sim identity policy pinning the measurement of a
 * small "runtime" file and a code hash), binds it to a read policy and stores
 * a 32-byte secret. Then, with N client threads (one connection each):
 *
 *   1. Attest: a loop of tv_attest_function() — Challenge, ephemeral X25519
 *      key, sim evidence (Ed25519 signature by the sim platform key), Attest
 *      (the vault verifies the signature, recomputes the binding, matches the
 *      identity, makes a session). Every call is one complete attestation.
 *   2. Get-after-Attest: each thread attests once, then loops
 *      tv_secrets_get() on its session: ACL check, audited read, decrypt,
 *      one AEAD under the session key (seal_fnget.h); no signature and no
 *      public-key operation on this path (the session was verified once).
 *
 *   bench_attest [--daemon PATH] [--clients N] [--seconds S] [--dir DIR]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "teevault.h"

static const char *g_addr, *g_plat, *g_runtime, *g_base;
static uint8_t g_code_hash[32];

typedef struct worker {
    pthread_t th;
    int idx;
    int get_phase;
    atomic_int *stop;
    uint64_t ops, errors;
    int last_err;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verify the vault (sim platform key in `dir`) so the connection pins its
 * signing key: libteevault attests only against a pinned vault. */
static int pin_sim_vault(tv_client *c, const char *dir)
{
    tv_vault_verify_opts vo = {0};
    tv_vault_report rep;
    uint8_t pk[32];
    char path[700];
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "%s/sim_platform.pub", dir);
    if (!(f = fopen(path, "rb")))
        return TV_ERR_IO;
    n = fread(pk, 1, sizeof pk, f);
    fclose(f);
    if (n != sizeof pk)
        return TV_ERR_FORMAT;
    vo.sim_pk = pk;
    return tv_attest_verify_vault(c, &vo, &rep);
}

static void *work(void *arg)
{
    worker *w = arg;
    tv_client *c = NULL;
    tv_session *s = NULL;
    tv_attest_opts o = {0};
    char st[600];
    int r;

    snprintf(st, sizeof st, "%s/rt-%d", g_base, w->idx);
    mkdir(st, 0700);
    o.tee = "sim";
    o.tee_root = g_plat;
    o.sim_state_dir = st;
    o.sim_measurement_file = g_runtime;
    if (tv_client_open(g_addr, NULL, &c) < 0) {
        w->errors++;
        return NULL;
    }
    if ((r = pin_sim_vault(c, g_plat)) < 0) {
        w->errors++;
        w->last_err = r;
        goto out;
    }
    if (w->get_phase && (r = tv_attest_function(c, "bench-fn", g_code_hash, 32, &o, &s)) < 0) {
        w->errors++;
        w->last_err = r;
        goto out;
    }
    while (!atomic_load(w->stop)) {
        if (w->get_phase) {
            uint8_t *v = NULL;
            size_t len = 0;
            r = tv_secrets_get(s, "bench/fn/key", &v, &len);
            tv_free_secret(v);
        } else {
            tv_session *t = NULL;
            r = tv_attest_function(c, "bench-fn", g_code_hash, 32, &o, &t);
            tv_session_free(t);
        }
        if (r < 0) {
            w->errors++;
            w->last_err = r;
        } else {
            w->ops++;
        }
    }
out:
    tv_session_free(s);
    tv_client_close(c);
    return NULL;
}

static double phase(int clients, int seconds, int get_phase, const char *label)
{
    atomic_int stop = 0;
    worker *ws = calloc((size_t)clients, sizeof *ws);
    uint64_t ops = 0, errs = 0;
    int last = 0;
    double t0, el;

    if (!ws)
        return -1;
    for (int i = 0; i < clients; i++) {
        ws[i].idx = i;
        ws[i].get_phase = get_phase;
        ws[i].stop = &stop;
        pthread_create(&ws[i].th, NULL, work, &ws[i]);
    }
    t0 = now_s();
    sleep((unsigned)seconds);
    atomic_store(&stop, 1);
    for (int i = 0; i < clients; i++) {
        pthread_join(ws[i].th, NULL);
        ops += ws[i].ops;
        errs += ws[i].errors;
        if (ws[i].last_err)
            last = ws[i].last_err;
    }
    el = now_s() - t0;
    free(ws);
    printf("  %-18s %10.0f /s   (%llu ok, %llu errors%s%s)\n", label, (double)ops / el,
           (unsigned long long)ops, (unsigned long long)errs, last ? ", last: " : "",
           last ? tv_strerror(last) : "");
    fflush(stdout);
    return errs > ops / 100 ? -1 : (double)ops / el;
}

static int wait_file(const char *p, pid_t pid, int seconds)
{
    for (int i = 0; i < seconds * 50; i++) {
        struct stat st;
        if (stat(p, &st) == 0)
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(20000);
    }
    return -1;
}

static int write_file(const char *p, const char *s)
{
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fputs(s, f);
    return fclose(f);
}

/* Register the function, its read policy and the secret as root. */
static int setup(const char *token)
{
    tv_client *c = NULL;
    uint8_t meas[32];
    char mh[65], ch[65], doc[400];
    char *acl[] = {"bench-fn-read"};
    tv_function_info fi = {0};
    uint64_t ver = 0;
    int r;

    crypto_hash_sha256(meas, (const uint8_t *)"bench runtime", 13);
    sodium_bin2hex(mh, sizeof mh, meas, 32);
    sodium_bin2hex(ch, sizeof ch, g_code_hash, 32);
    snprintf(doc, sizeof doc,
             "{\"evidence_type\":\"sim\",\"measurement\":\"%s\",\"code_hash\":\"%s\"}", mh, ch);
    fi.name = "bench-fn";
    fi.policy = doc;
    fi.acl_policies = acl;
    fi.n_acl_policies = 1;
    if ((r = tv_client_open(g_addr, NULL, &c)) < 0 || (r = tv_client_set_token(c, token)) < 0 ||
        (r = tv_policy_write(c, "bench-fn-read",
                             "path \"bench/fn/*\" { capabilities = [\"read\"] }\n")) < 0 ||
        (r = tv_function_write(c, &fi)) < 0 ||
        (r = tv_secret_put(c, "bench/fn/key", "0123456789abcdef0123456789abcdef", 32, NULL, &ver)) <
            0)
        fprintf(stderr, "bench_attest: setup: %s (%s)\n", tv_strerror(r),
                c ? tv_client_last_error(c) : "");
    tv_client_close(c);
    return r;
}

int main(int argc, char **argv)
{
    int clients = 8, seconds = 5, o, rc = 1;
    const char *daemon = NULL;
    static char dpath[4096], sock[600], addr[620], tokp[600], logp[600], rt[600];
    char tmpl[] = "/tmp/tv-bench-attest-XXXXXX";
    static const struct option opts[] = {
        {"daemon", required_argument, NULL, 'd'},
        {"clients", required_argument, NULL, 'c'},
        {"seconds", required_argument, NULL, 's'},
        {"dir", required_argument, NULL, 'D'},
        {0},
    };
    pid_t pid;
    char tok[512];
    FILE *f;
    size_t n;

    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            daemon = optarg;
            break;
        case 'c':
            clients = atoi(optarg);
            break;
        case 's':
            seconds = atoi(optarg);
            break;
        case 'D':
            g_base = optarg;
            break;
        default:
            fprintf(stderr, "usage: bench_attest [--daemon PATH] [--clients N] [--seconds S] "
                            "[--dir DIR]\n");
            return 2;
        }
    }
    if (clients < 1 || clients > 1024 || seconds < 1 || sodium_init() < 0)
        return 2;
    if (!daemon) {
        ssize_t k = readlink("/proc/self/exe", dpath, sizeof(dpath) - 16);
        char *sl;
        if (k > 0) {
            dpath[k] = '\0';
            if ((sl = strrchr(dpath, '/')))
                strcpy(sl + 1, "teevaultd");
        }
        daemon = dpath;
    }
    if (g_base && mkdir(g_base, 0700) != 0 && errno != EEXIST)
        return 1;
    if (!g_base && !(g_base = mkdtemp(tmpl)))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    snprintf(sock, sizeof sock, "%s/s.sock", g_base);
    snprintf(addr, sizeof addr, "unix:%s", sock);
    snprintf(tokp, sizeof tokp, "%s/root-token", g_base);
    snprintf(logp, sizeof logp, "%s/daemon.log", g_base);
    snprintf(rt, sizeof rt, "%s/runtime.bin", g_base);
    g_addr = addr;
    g_plat = g_base; /* --dev: the state dir is the sim platform dir */
    g_runtime = rt;
    crypto_hash_sha256(g_code_hash, (const uint8_t *)"bench code", 10);
    if (write_file(rt, "bench runtime") < 0)
        return 1;
    pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (!freopen(logp, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(daemon, daemon, "--dev", "--state-dir", g_base, "--socket", sock, (char *)NULL);
        _exit(127);
    }
    if (wait_file(sock, pid, 20) < 0 || wait_file(tokp, pid, 20) < 0 || !(f = fopen(tokp, "r"))) {
        fprintf(stderr, "bench_attest: daemon did not start (see %s)\n", logp);
        goto out;
    }
    n = fread(tok, 1, sizeof tok - 1, f);
    fclose(f);
    while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
        n--;
    tok[n] = 0;
    if (setup(tok) < 0)
        goto out;
    printf("function attestation, sim evidence, %d clients over the Unix socket, %d s each\n",
           clients, seconds);
    if (phase(clients, seconds, 0, "Attest") < 0 ||
        phase(clients, seconds, 1, "Get-after-Attest") < 0)
        goto out;
    rc = 0;
out:
    sodium_memzero(tok, sizeof tok);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return rc;
}
