/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_audit: what group commit buys (issue 4, item 5).
 *
 * Runs the real teevaultd twice on a fresh temp state dir: once with group
 * commit (the default) and once with one write transaction + fsync per audit
 * record (TEEVAULT_BENCH_AUDIT_FSYNC_PER_RECORD=1). Each run: N client
 * threads, one Unix-socket connection each, call an audited read in a loop
 * for S seconds (Secrets.Get of a 32-byte secret when the Secrets service is
 * served, else Sys.Health, which is audited the same way). Prints both
 * throughputs side by side and the ratio.
 *
 *   bench_audit [--daemon PATH] [--clients N] [--seconds S] [--dir DIR]
 *
 * Exit 0 when both runs completed; the ratio is printed, not judged (the
 * disk decides it), except --min-ratio R makes a smaller ratio exit 1.
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

#include "teevault.h"

typedef struct run_cfg {
    const char *daemon;
    const char *base_dir;
    int clients;
    int seconds;
} run_cfg;

typedef struct worker {
    pthread_t th;
    const char *addr;
    const char *token;
    int use_get;
    atomic_int *stop;
    uint64_t ops;
    uint64_t errors;
    double max_ms;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
    worker *w = arg;
    tv_client *c = NULL;
    if (tv_client_open(w->addr, NULL, &c) < 0 || tv_client_set_token(c, w->token) < 0) {
        w->errors++;
        tv_client_close(c);
        return NULL;
    }
    while (!atomic_load(w->stop)) {
        double t0 = now_s();
        int r;
        if (w->use_get) {
            uint8_t *v = NULL;
            size_t len = 0;
            r = tv_secret_get(c, "bench/key", 0, &v, &len, NULL);
            if (r == 0)
                tv_free_secret(v);
        } else {
            int ok = 0;
            r = tv_sys_health(c, &ok, NULL);
        }
        double ms = (now_s() - t0) * 1e3;
        if (ms > w->max_ms)
            w->max_ms = ms;
        if (r < 0)
            w->errors++;
        else
            w->ops++;
    }
    tv_client_close(c);
    return NULL;
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

static char *read_token(const char *path)
{
    static char tok[512];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(tok, 1, sizeof(tok) - 1, f);
    fclose(f);
    while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
        n--;
    tok[n] = '\0';
    return tok;
}

/* One daemon, one measurement. Returns ops/s or < 0. */
static double run(const run_cfg *cfg, int per_record, const char *label, int *used_get)
{
    char dir[512], sock[600], addr[620], tokp[600], logp[600];
    double rate = -1;
    pid_t pid;

    snprintf(dir, sizeof(dir), "%s/%s", cfg->base_dir, label);
    mkdir(dir, 0700);
    snprintf(sock, sizeof(sock), "%s/s.sock", dir);
    snprintf(addr, sizeof(addr), "unix:%s", sock);
    snprintf(tokp, sizeof(tokp), "%s/root-token", dir);
    snprintf(logp, sizeof(logp), "%s/daemon.log", dir);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen(logp, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(126);
        if (per_record)
            setenv("TEEVAULT_BENCH_AUDIT_FSYNC_PER_RECORD", "1", 1);
        else
            unsetenv("TEEVAULT_BENCH_AUDIT_FSYNC_PER_RECORD");
        execl(cfg->daemon, cfg->daemon, "--dev", "--state-dir", dir, "--socket", sock,
              (char *)NULL);
        _exit(127);
    }
    if (wait_file(sock, pid, 20) < 0 || wait_file(tokp, pid, 20) < 0) {
        fprintf(stderr, "bench_audit: %s: daemon did not start (see %s)\n", label, logp);
        goto out;
    }
    const char *token = read_token(tokp);
    if (!token) {
        fprintf(stderr, "bench_audit: %s: no root token\n", label);
        goto out;
    }
    /* The secret to read; without the Secrets service, read Health instead. */
    {
        tv_client *c = NULL;
        uint64_t ver = 0;
        int r = tv_client_open(addr, NULL, &c);
        if (r == 0)
            r = tv_client_set_token(c, token);
        if (r == 0)
            r = tv_secret_put(c, "bench/key", "0123456789abcdef0123456789abcdef", 32, NULL, &ver);
        *used_get = r == 0;
        tv_client_close(c);
    }
    {
        atomic_int stop = 0;
        worker *ws = calloc((size_t)cfg->clients, sizeof(*ws));
        uint64_t ops = 0, errs = 0;
        double maxms = 0;
        if (!ws)
            goto out;
        for (int i = 0; i < cfg->clients; i++) {
            ws[i].addr = addr;
            ws[i].token = token;
            ws[i].use_get = *used_get;
            ws[i].stop = &stop;
            pthread_create(&ws[i].th, NULL, work, &ws[i]);
        }
        double t0 = now_s();
        sleep((unsigned)cfg->seconds);
        atomic_store(&stop, 1);
        for (int i = 0; i < cfg->clients; i++) {
            pthread_join(ws[i].th, NULL);
            ops += ws[i].ops;
            errs += ws[i].errors;
            if (ws[i].max_ms > maxms)
                maxms = ws[i].max_ms;
        }
        double el = now_s() - t0;
        free(ws);
        rate = (double)ops / el;
        printf("  %-28s %10.0f req/s   (%llu requests, %llu errors, max latency %.1f ms)\n", label,
               rate, (unsigned long long)ops, (unsigned long long)errs, maxms);
        fflush(stdout);
        if (errs > ops / 100) {
            fprintf(stderr, "bench_audit: %s: too many errors\n", label);
            rate = -1;
        }
    }
out:
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return rate;
}

int main(int argc, char **argv)
{
    run_cfg cfg = {NULL, NULL, 64, 5};
    double min_ratio = 0;
    char tmpl[] = "/tmp/tv-bench-audit-XXXXXX";
    static const struct option opts[] = {
        {"daemon", required_argument, NULL, 'd'},    {"clients", required_argument, NULL, 'c'},
        {"seconds", required_argument, NULL, 's'},   {"dir", required_argument, NULL, 'D'},
        {"min-ratio", required_argument, NULL, 'r'}, {0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            cfg.daemon = optarg;
            break;
        case 'c':
            cfg.clients = atoi(optarg);
            break;
        case 's':
            cfg.seconds = atoi(optarg);
            break;
        case 'D':
            cfg.base_dir = optarg;
            break;
        case 'r':
            min_ratio = atof(optarg);
            break;
        default:
            fprintf(stderr, "usage: bench_audit [--daemon PATH] [--clients N] [--seconds S] "
                            "[--dir DIR] [--min-ratio R]\n");
            return 2;
        }
    }
    if (cfg.clients < 1 || cfg.clients > 1024 || cfg.seconds < 1)
        return 2;
    static char dpath[4096];
    if (!cfg.daemon) {
        /* Default: teevaultd next to this binary (build/bin). */
        ssize_t n = readlink("/proc/self/exe", dpath, sizeof(dpath) - 16);
        if (n > 0) {
            dpath[n] = '\0';
            char *sl = strrchr(dpath, '/');
            if (sl)
                strcpy(sl + 1, "teevaultd");
        }
        cfg.daemon = dpath;
    }
    if (cfg.base_dir && mkdir(cfg.base_dir, 0700) != 0 && errno != EEXIST) {
        perror(cfg.base_dir);
        return 1;
    }
    if (!cfg.base_dir && !(cfg.base_dir = mkdtemp(tmpl))) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    int g1 = 0, g2 = 0;
    printf("audited reads, %d concurrent clients over the Unix socket, %d s each (state in %s)\n",
           cfg.clients, cfg.seconds, cfg.base_dir);
    double group = run(&cfg, 0, "group-commit", &g1);
    double per = run(&cfg, 1, "fsync-per-record", &g2);
    if (group < 0 || per <= 0)
        return 1;
    printf("  method: %s\n", g1 && g2 ? "Secrets.Get (32-byte value)"
                                      : "Sys.Health (Secrets service not served by this build)");
    printf("  group commit is %.1fx the fsync-per-record throughput\n", group / per);
    return min_ratio > 0 && group / per < min_ratio ? 1 : 0;
}
