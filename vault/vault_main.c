/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevaultd: the vault daemon.
 *
 *   teevaultd [--config FILE] [--dev [--state-dir DIR] [--socket PATH]] [--accept-rollback]
 *   teevaultd --check-config [--config FILE]
 *
 * Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a start-up
 * or runtime error, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "seal.h"
#include "vault.h"
#include "vault_attest.h"
#include "vault_ident.h"
#include "vault_witness.h"
#include "vault_audit.h"
#include "vault_auth.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_keyring.h"
#include "vault_lifecycle.h"
#include "vault_log.h"
#include "vault_metrics.h"
#include "vault_notify.h"
#include "vault_server.h"
#include "vault_snapshot.h"

#ifndef TV_VERSION
#define TV_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: teevaultd [--config FILE] [--dev [--state-dir DIR] [--socket PATH]]\n"
               "                 [--accept-rollback]\n"
               "\n"
               "  --config FILE     read the INI configuration FILE (see teevault.conf(5))\n"
               "  --dev             development vault: sim TEE backend (NO hardware protection),\n"
               "                    a temporary state directory, a Unix socket in it\n"
               "  --state-dir DIR   with --dev: use DIR instead of a temporary directory\n"
               "  --socket PATH     with --dev: listen on PATH (default DIR/teevault.sock)\n"
               "  --accept-rollback start although the witness holds a newer state (audited)\n"
               "  --check-config    read and check the configuration, print the result, exit\n"
               "                    (0 valid, 1 not); starts nothing\n"
               "  --help, --version\n");
}

/* No core dumps and no ptrace by other same-uid processes: memory holds keys. */
static int harden_process(void)
{
    struct rlimit rl = {0, 0};
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return TV_ERR_INTERNAL;
    if (setrlimit(RLIMIT_CORE, &rl) < 0)
        return TV_ERR_INTERNAL;
    return 0;
}

/* SIGHUP (systemctl reload): re-read the configuration file and apply what
 * can change without dropping a connection or a function session: the log
 * level and format, the TLS certificate and key (for connections accepted
 * from now on) and the attestation collateral. Anything else needs a
 * restart. A file that does not load changes nothing. */
struct reload_ctx {
    const char *config_path;
    struct vault *v;
    vault_server *srv;
};

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    struct reload_ctx *rc = arg;
    vault_config nc;
    char err[512] = "";
    int r;

    (void)sig;
    (void)what;
    if (!rc->config_path) {
        vault_log(VAULT_LOG_INFO, "reload", "msg",
                  "no configuration file (--dev): nothing to reload", (const char *)NULL);
        return;
    }
    vault_notify_reloading(0);
    if (vault_config_defaults(&nc) < 0) {
        vault_log(VAULT_LOG_ERROR, "reload_failed", "error", "out of memory", (const char *)NULL);
        vault_notify_reloading(1);
        return;
    }
    if ((r = vault_config_load(&nc, rc->config_path, err, sizeof(err))) < 0 ||
        (r = vault_config_validate(&nc, err, sizeof(err))) < 0) {
        vault_log(VAULT_LOG_ERROR, "reload_failed", "config", rc->config_path, "error", err, "msg",
                  "nothing changed", (const char *)NULL);
        goto out;
    }
    vault_log_setup(nc.log_level, nc.log_format);
    if ((r = vault_server_reload_tls(rc->srv, &nc, err, sizeof(err))) < 0)
        vault_log(VAULT_LOG_ERROR, "reload_failed", "what", "tls", "error", err, "msg",
                  "the previous certificate stays in use", (const char *)NULL);
    else if (nc.tls_cert)
        vault_log(VAULT_LOG_INFO, "reload", "what", "tls", "cert", nc.tls_cert, (const char *)NULL);
    if ((r = vault_attest_reload_collateral(rc->v, nc.attest_collateral)) < 0)
        vault_log(VAULT_LOG_ERROR, "reload_failed", "what", "collateral", "path",
                  nc.attest_collateral, "reason", tv_strerror(r), (const char *)NULL);
    else if (nc.attest_collateral)
        vault_log(VAULT_LOG_INFO, "reload", "what", "collateral", "path", nc.attest_collateral,
                  (const char *)NULL);
    vault_log(VAULT_LOG_INFO, "reloaded", "config", rc->config_path, "applied",
              "log_level, log_format, tls_cert, tls_key, tls_client_ca, collateral", "msg",
              "other settings apply at the next restart", (const char *)NULL);
out:
    vault_config_free(&nc);
    vault_notify_reloading(1);
}

/* Expired tokens are refused at once but stay stored until this purge. */
#define TIDY_INTERVAL_S 300

static void on_tidy(evutil_socket_t fd, short what, void *arg)
{
    struct vault *v = arg;
    size_t removed = 0;
    (void)fd;
    (void)what;
    if (!vault_is_active(v))
        return;
    int r = vault_auth_tidy(v, (int64_t)time(NULL), &removed);
    if (r < 0) {
        vault_log(VAULT_LOG_WARN, "token_tidy", "error", tv_strerror(r), (const char *)NULL);
    } else if (removed) {
        char n[32];
        snprintf(n, sizeof(n), "%zu", removed);
        vault_log(VAULT_LOG_INFO, "token_tidy", "removed", n, (const char *)NULL);
    }
}

static void on_attest_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    vault_attest_tick(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct event_base *base = arg;
    (void)what;
    vault_log(VAULT_LOG_INFO, "shutdown", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
              (const char *)NULL);
    event_base_loopexit(base, NULL);
}

static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create state_dir %s: %s", dir, strerror(errno));
        return TV_ERR_IO;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "state_dir %s is not a directory", dir);
        return TV_ERR_IO;
    }
    return 0;
}

static void on_witness_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    vault_witness_tick(arg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"dev", no_argument, NULL, 'd'},
        {"state-dir", required_argument, NULL, 's'},
        {"socket", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"accept-rollback", no_argument, NULL, 'R'},
        {"check-config", no_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    int check_only = 0;
    struct reload_ctx reload = {0};
    const char *config_path = NULL, *dev_dir = NULL, *dev_socket = NULL;
    int dev = 0, accept_rollback = 0, ch, rc = 1, r;
    char err[512] = "";
    vault_config cfg;
    struct vault v;
    vault_server *srv = NULL;
    struct event *sigterm = NULL, *sigint = NULL, *sighup = NULL, *tidy = NULL, *wtick = NULL,
                 *atick = NULL;
    int cfg_ok = 0, lock_fd = -1;

    vault_server_global_init();
    memset(&v, 0, sizeof(v));
    if (harden_process() < 0) {
        fprintf(stderr, "teevaultd: cannot disable core dumps: %s\n", strerror(errno));
        return 1;
    }
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config_path = optarg;
            break;
        case 'd':
            dev = 1;
            break;
        case 's':
            dev_dir = optarg;
            break;
        case 'S':
            dev_socket = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("teevaultd %s\n", TV_VERSION);
            return 0;
        case 'R':
            accept_rollback = 1;
            break;
        case 'C':
            check_only = 1;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || ((dev_dir || dev_socket) && !dev)) {
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "teevaultd: libsodium initialisation failed\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    if (vault_config_defaults(&cfg) < 0) {
        fprintf(stderr, "teevaultd: out of memory\n");
        return 1;
    }
    cfg_ok = 1;
    if (config_path && vault_config_load(&cfg, config_path, err, sizeof(err)) < 0) {
        fprintf(stderr, "teevaultd: %s\n", err);
        goto out;
    }
    if (dev) {
        char tmpl[] = "/tmp/teevault-dev-XXXXXX";
        char sock[PATH_MAX];
        cfg.dev = 1;
        if (!dev_dir && !config_path) {
            if (!mkdtemp(tmpl)) {
                fprintf(stderr, "teevaultd: mkdtemp: %s\n", strerror(errno));
                goto out;
            }
            dev_dir = tmpl;
        }
        if (dev_dir && vault_config_set(&cfg.state_dir, dev_dir) < 0)
            goto nomem;
        if (ensure_dir(cfg.state_dir, err, sizeof(err)) < 0) {
            fprintf(stderr, "teevaultd: %s\n", err);
            goto out;
        }
        if (dev_socket) {
            if (vault_config_set(&cfg.unix_socket, dev_socket) < 0)
                goto nomem;
        } else if (!config_path) {
            snprintf(sock, sizeof(sock), "%s/teevault.sock", cfg.state_dir);
            if (vault_config_set(&cfg.unix_socket, sock) < 0)
                goto nomem;
        }
        if (vault_config_set(&cfg.tee_backend, "sim") < 0)
            goto nomem;
        cfg.allow_insecure_sim = 1; /* --dev is the explicit opt-in */
        cfg.operator_plaintext_reads = 1;
    }
    if (vault_config_validate(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "teevaultd: %s\n", err);
        goto out;
    }
    if (check_only) {
        /* The TLS files must load too: a typo there would stop the start. */
        if (cfg.tls_cert) {
            FILE *f = fopen(cfg.tls_cert, "r");
            FILE *g = cfg.tls_key ? fopen(cfg.tls_key, "r") : NULL;
            if (!f || (cfg.tls_key && !g)) {
                fprintf(stderr, "teevaultd: cannot read %s: %s\n", !f ? cfg.tls_cert : cfg.tls_key,
                        strerror(errno));
                if (f)
                    fclose(f);
                goto out;
            }
            fclose(f);
            if (g)
                fclose(g);
        }
        printf("teevaultd: configuration %s is valid (backend %s, state_dir %s)\n",
               config_path ? config_path : "(defaults)", cfg.tee_backend ? cfg.tee_backend : "-",
               cfg.state_dir);
        rc = 0;
        goto out;
    }
    vault_log_setup(cfg.log_level, cfg.log_format);
    if (ensure_dir(cfg.state_dir, err, sizeof(err)) < 0) {
        vault_log(VAULT_LOG_ERROR, "startup", "error", err, (const char *)NULL);
        goto out;
    }
    v.cfg = &cfg;

    /* One daemon per state directory, before anything in it is read: two
     * writers would fork the audit chain for good. */
    {
        long holder = 0;
        if ((r = vault_state_lock(cfg.state_dir, &lock_fd, &holder)) < 0) {
            if (r == TV_ERR_UNAVAILABLE && holder > 0)
                snprintf(err, sizeof(err),
                         "state directory %s is in use by another teevaultd (pid %ld); stop it "
                         "first (one daemon per state directory)",
                         cfg.state_dir, holder);
            else if (r == TV_ERR_UNAVAILABLE)
                snprintf(err, sizeof(err),
                         "state directory %s is in use by another teevaultd (pid unknown); stop "
                         "it first (one daemon per state directory)",
                         cfg.state_dir);
            else
                snprintf(err, sizeof(err), "cannot lock %s/teevaultd.lock: %s", cfg.state_dir,
                         strerror(errno));
            fprintf(stderr, "teevaultd: %s\n", err);
            vault_log(VAULT_LOG_ERROR, "startup", "error", err, (const char *)NULL);
            goto out;
        }
    }

    /* TEE backend. */
    {
        seal_options so;
        memset(&so, 0, sizeof(so));
        so.backend = cfg.tee_backend;
        so.state_dir = cfg.state_dir;
        so.root = cfg.tee_root;
        so.sim_signer = cfg.sim_signer;
        if ((r = seal_backend_open(&so, &v.seal)) < 0) {
            vault_log(VAULT_LOG_ERROR, "startup", "error", "cannot open the TEE backend", "backend",
                      cfg.tee_backend, "reason", tv_strerror(r), (const char *)NULL);
            goto out;
        }
    }
    if (!v.seal->ops->hardware_protected)
        vault_log(VAULT_LOG_WARN, "tee_sim", "msg",
                  "!!! TEE backend 'sim': NO hardware protection. Keys are sealed to a file "
                  "in the state directory. Never store real secrets in this vault. !!!",
                  (const char *)NULL);

    /* Store and auto-unseal. */
    if ((r = vault_db_open(cfg.state_dir, (size_t)cfg.map_size, &v.db)) < 0) {
        vault_log(VAULT_LOG_ERROR, "startup", "error", "cannot open the store", "dir",
                  cfg.state_dir, "reason", tv_strerror(r), (const char *)NULL);
        goto out;
    }
    if (!(v.base = event_base_new()))
        goto nomem;
    /* The audit writer: every reply waits for its record (group commit). */
    {
        vault_auth_params ap;
        vault_auth_params_default(&ap);
        ap.argon2_t = cfg.password_time_cost;
        ap.argon2_m_kib = (uint32_t)(cfg.password_memory / 1024);
        ap.default_ttl = cfg.token_default_ttl;
        ap.max_ttl = cfg.token_max_ttl;
        ap.login_rate = cfg.login_rate;
        ap.login_burst = cfg.login_burst;
        if ((r = vault_auth_configure(&ap)) < 0) {
            vault_log(VAULT_LOG_ERROR, "startup", "error", "invalid [auth] settings", "reason",
                      tv_strerror(r), (const char *)NULL);
            goto out;
        }
    }
    {
        vault_attest_params atp = {.session_ttl = cfg.attest_session_ttl,
                                   .nonce_ttl = cfg.attest_nonce_ttl,
                                   .max_sessions = cfg.attest_max_sessions,
                                   .max_replay = cfg.attest_max_replay,
                                   .sim_platform_dir = cfg.attest_sim_platform_dir,
                                   .collateral = cfg.attest_collateral};
        if ((r = vault_attest_configure(&v, &atp)) < 0) {
            vault_log(VAULT_LOG_ERROR, "startup", "error", "invalid [attestation] settings",
                      "reason", tv_strerror(r), (const char *)NULL);
            goto out;
        }
        /* Bench hook (docs/BENCHMARKS.md): start with N live function
         * sessions (no ACL policies) to measure Attest, Get and Put with a
         * full session table. Logged as a warning. */
        const char *pre = getenv("TEEVAULT_BENCH_PRELOAD_SESSIONS");
        if (pre && atoi(pre) > 0) {
            uint8_t eph[32], id[32], spk[32];
            int n = atoi(pre), made = 0;
            randombytes_buf(eph, sizeof eph);
            while (made < n && vault_attest_test_session(&v, "bench-preload", eph, id, spk) == 0)
                made++;
            vault_logf(VAULT_LOG_WARN, "bench_preload", "%d function sessions preloaded", made);
        }
    }
    vault_audit_opts ao = {.ckpt_every_records = cfg.audit_checkpoint_records,
                           .ckpt_every_ms = cfg.audit_checkpoint_seconds * 1000u,
                           .high_water_percent = cfg.audit_high_water_percent,
                           .warn_percent = cfg.audit_warn_percent,
                           .aggregate_seconds = cfg.audit_aggregate_seconds};
    if ((r = vault_audit_open(&v, &ao)) < 0) {
        vault_log(VAULT_LOG_ERROR, "startup", "error", "cannot open the audit log", "reason",
                  tv_strerror(r), (const char *)NULL);
        goto out;
    }
    /* Auto-unseal through the TEE backend (or, with --dev, initialise). */
    r = vault_startup(&v);
    if (r == TV_ERR_NOT_INITIALISED) {
        vault_log(VAULT_LOG_INFO, "uninitialized", "hint", "run `teevault operator init`",
                  (const char *)NULL);
    } else if (r == TV_ERR_SEALED) {
        vault_log(VAULT_LOG_WARN, "unseal_failed", "reason", tv_strerror(r), "hint",
                  "run `teevault operator recover` with the recovery passphrase",
                  (const char *)NULL);
    } else if (r < 0) {
        vault_log(VAULT_LOG_ERROR, "startup", "error", "cannot unseal the vault", "reason",
                  tv_strerror(r), (const char *)NULL);
        goto out;
    } else {
        vault_log(VAULT_LOG_INFO, "unsealed", (const char *)NULL);
        /* Fresh state or no state: the witness's newest checkpoint must not
         * be newer than the store (fail closed). */
        if ((r = vault_witness_start(&v, accept_rollback, err, sizeof(err))) < 0) {
            vault_log(VAULT_LOG_ERROR, "startup", "error", err, "reason", tv_strerror(r),
                      (const char *)NULL);
            goto out;
        }
    }
    if (!vault_is_active(&v) && vault_audit_journal_blocked(&v)) {
        /* Its records can be verified only with the root key, and every
         * record written meanwhile would take their seqs. */
        vault_log(VAULT_LOG_ERROR, "startup", "error",
                  "audit.journal holds audit records that can be verified only with the root "
                  "key, and the vault is not unsealed; refusing to start",
                  "hint",
                  "start the teevaultd that sealed this vault once (it verifies and moves them "
                  "into the audit log), or move audit.journal aside to start without them",
                  (const char *)NULL);
        goto out;
    }
    if ((r = vault_server_new(&v, &srv, err, sizeof(err))) < 0) {
        vault_log(VAULT_LOG_ERROR, "startup", "error", err, "reason", tv_strerror(r),
                  (const char *)NULL);
        goto out;
    }
    /* Counters always (cheap); the /metrics listener when configured. */
    if (vault_metrics_new(&v) < 0)
        goto nomem;
    if (cfg.metrics_listen &&
        (r = vault_metrics_listen(&v, cfg.metrics_listen, err, sizeof(err))) < 0) {
        vault_log(VAULT_LOG_ERROR, "startup", "error", err, "reason", tv_strerror(r),
                  (const char *)NULL);
        goto out;
    }
    sigterm = evsignal_new(v.base, SIGTERM, on_signal, v.base);
    sigint = evsignal_new(v.base, SIGINT, on_signal, v.base);
    reload.config_path = config_path;
    reload.v = &v;
    reload.srv = srv;
    sighup = evsignal_new(v.base, SIGHUP, on_sighup, &reload);
    tidy = event_new(v.base, -1, EV_PERSIST, on_tidy, &v);
    struct timeval tidy_tv = {TIDY_INTERVAL_S, 0};
    if (!tidy || event_add(tidy, &tidy_tv) < 0)
        goto nomem;
    atick = event_new(v.base, -1, EV_PERSIST, on_attest_tick, &v);
    struct timeval atick_tv = {1, 0};
    if (!atick || event_add(atick, &atick_tv) < 0)
        goto nomem;
    if (cfg.witness_dir || cfg.witness_command) { /* also for a vault unsealed later */
        struct timeval wtv = {cfg.witness_interval ? cfg.witness_interval : 5, 0};
        wtick = event_new(v.base, -1, EV_PERSIST, on_witness_tick, &v);
        if (!wtick || event_add(wtick, &wtv) < 0)
            goto nomem;
    }
    if (!sigterm || !sigint || !sighup || evsignal_add(sigterm, NULL) < 0 ||
        evsignal_add(sigint, NULL) < 0 || evsignal_add(sighup, NULL) < 0)
        goto nomem;
    {
        uint8_t chash[VAULT_CONFIG_HASH_LEN];
        char chx[2 * VAULT_CONFIG_HASH_LEN + 1] = "";
        if (vault_config_hash(&cfg, chash) == 0)
            sodium_bin2hex(chx, sizeof(chx), chash, sizeof(chash));
        vault_log(VAULT_LOG_INFO, "ready", "version", TV_VERSION, "state_dir", cfg.state_dir,
                  "socket", cfg.unix_socket ? cfg.unix_socket : "", "dev", dev ? "yes" : "no",
                  "tee_backend", cfg.tee_backend, "config_hash", chx, (const char *)NULL);
    }
    if (vault_notify_ready(&v) < 0)
        goto nomem;
    if (event_base_dispatch(v.base) < 0) {
        vault_log(VAULT_LOG_ERROR, "loop", "error", "event loop failed", (const char *)NULL);
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    fprintf(stderr, "teevaultd: out of memory\n");
out:
    vault_notify_stopping();
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (sighup)
        event_free(sighup);
    if (tidy)
        event_free(tidy);
    if (atick)
        event_free(atick);
    if (wtick)
        event_free(wtick);
    /* Flush first: its callbacks queue the last replies on live requests;
     * then the server drops its connections; then the writer goes. */
    if (v.auditw && vault_audit_flush(&v) < 0)
        vault_log(VAULT_LOG_ERROR, "shutdown", "error", "final audit flush failed",
                  (const char *)NULL);
    vault_server_free(srv);
    vault_witness_stop(&v); /* the final state to the witness */
    vault_attest_close(&v); /* function sessions and nonces (wiped) */
    vault_ident_close(&v);  /* the signing key (wiped) */
    vault_audit_close(&v);
    vault_snapshot_cleanup(&v);
    vault_metrics_free(&v); /* after the writer: its last commit reports here */
    vault_deactivate(&v);
    vault_db_close(v.db);
    seal_backend_free(v.seal);
    if (v.base)
        event_base_free(v.base);
    if (lock_fd >= 0)
        close(lock_fd); /* last: releases the state directory */
    if (cfg_ok)
        vault_config_free(&cfg);
    if (rc == 0 && !check_only)
        vault_log(VAULT_LOG_INFO, "stopped", (const char *)NULL);
    return rc;
}
