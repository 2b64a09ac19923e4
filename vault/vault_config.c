/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_config.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "vault_log.h"

int vault_config_set(char **dst, const char *s)
{
    char *d = NULL;
    if (s && !(d = strdup(s)))
        return TV_ERR_NOMEM;
    free(*dst);
    *dst = d;
    return 0;
}

int vault_config_defaults(vault_config *c)
{
    memset(c, 0, sizeof(*c));
    c->unix_mode = 0660;
    c->tls_client_auth = VAULT_TLS_CLIENT_OFF;
    c->max_connections = 1024;
    c->max_inflight_per_conn = 64;
    c->max_connections_per_peer = 128;
    c->peer_public_rate = 1000;
    c->peer_public_burst = 2000;
    c->peer_authfail_rate = 5;
    c->peer_authfail_burst = 20;
    c->handshake_timeout = 10;
    c->auth_timeout = 30;
    c->max_output_bytes = 16ull << 20;
    c->idle_timeout = 300;
    c->io_timeout = 30;
    c->max_value_bytes = 1024 * 1024;
    c->map_size = 1024ull * 1024 * 1024;
    c->log_level = VAULT_LOG_INFO;
    c->log_format = VAULT_LOG_TEXT;
    c->operator_plaintext_reads = 0;
    c->audit_checkpoint_records = 1000;
    c->audit_checkpoint_seconds = 10;
    c->audit_high_water_percent = 90;
    c->audit_warn_percent = 75;
    c->audit_aggregate_seconds = 60;
    c->password_time_cost = 3;
    c->password_memory = 64ull * 1024 * 1024;
    c->token_default_ttl = 86400;
    c->token_max_ttl = 30 * 86400;
    c->login_rate = 2;
    c->login_burst = 5;
    c->attest_session_ttl = 900;
    c->attest_nonce_ttl = 60;
    c->attest_max_sessions = 131072;
    c->attest_max_replay = 65536;
    c->witness_interval = 5;
    if (vault_config_set(&c->state_dir, "/var/lib/teevault") < 0 ||
        vault_config_set(&c->unix_socket, "/run/teevault/teevault.sock") < 0 ||
        vault_config_set(&c->seal_policy, "signer") < 0) {
        vault_config_free(c);
        return TV_ERR_NOMEM;
    }
    return 0;
}

void vault_config_free(vault_config *c)
{
    char **strs[] = {&c->path,
                     &c->state_dir,
                     &c->unix_socket,
                     &c->tcp_address,
                     &c->tls_cert,
                     &c->tls_key,
                     &c->tls_client_ca,
                     &c->tee_backend,
                     &c->seal_policy,
                     &c->tee_root,
                     &c->sim_signer,
                     &c->attest_collateral,
                     &c->attest_sim_platform_dir,
                     &c->witness_dir,
                     &c->witness_command,
                     &c->metrics_listen};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}

int vault_config_parse_size(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (!s || !*s || *s == '-')
        return TV_ERR_INVALID;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return TV_ERR_INVALID;
    unsigned shift = 0;
    if (*end) {
        switch (*end) {
        case 'k':
        case 'K':
            shift = 10;
            break;
        case 'm':
        case 'M':
            shift = 20;
            break;
        case 'g':
        case 'G':
            shift = 30;
            break;
        case 't':
        case 'T':
            shift = 40;
            break;
        default:
            return TV_ERR_INVALID;
        }
        end++;
        if (*end == 'i' || *end == 'I')
            end++;
        if (*end == 'b' || *end == 'B')
            end++;
        if (*end)
            return TV_ERR_INVALID;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return TV_ERR_INVALID;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end = NULL;
    if (!s || !*s || *s == '-')
        return TV_ERR_INVALID;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return TV_ERR_INVALID;
    *out = (unsigned)v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1"))
        *out = 1;
    else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") ||
             !strcmp(s, "0"))
        *out = 0;
    else
        return TV_ERR_INVALID;
    return 0;
}

struct load_ctx {
    vault_config *c;
    FILE *f;
    int line;      /* lines read so far = line of the key being handled */
    int err_line;  /* line of the first handler error */
    char msg[256]; /* first error */
    int err;
};

/* inih reader that counts lines, so handler errors know their line. */
static char *read_line(char *buf, int size, void *stream)
{
    struct load_ctx *x = stream;
    char *r = fgets(buf, size, x->f);
    if (r)
        x->line++;
    return r;
}

__attribute__((format(printf, 3, 4))) static int fail(struct load_ctx *x, int err, const char *fmt,
                                                      ...)
{
    if (!x->err) {
        va_list ap;
        x->err = err;
        x->err_line = x->line;
        va_start(ap, fmt);
        vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
        va_end(ap);
    }
    return 0; /* inih: this line failed */
}

/* Absent-able strings: an empty value means "not set". */
static int set_opt(char **dst, const char *v)
{
    return vault_config_set(dst, v && *v ? v : NULL);
}

static int on_key(void *user, const char *sec, const char *key, const char *val)
{
    struct load_ctx *x = user;
    vault_config *c = x->c;
    char qk[160];
    int r = 0;

    snprintf(qk, sizeof(qk), "%s%s%s", sec, *sec ? "." : "", key);
#define IS(s, k) (!strcmp(sec, s) && !strcmp(key, k))
    if (IS("", "state_dir")) {
        if (!*val)
            return fail(x, TV_ERR_INVALID, "%s: must not be empty%s", qk, "");
        r = vault_config_set(&c->state_dir, val);
    } else if (IS("listen", "unix_socket")) {
        r = set_opt(&c->unix_socket, val);
    } else if (IS("listen", "unix_mode")) {
        char *end = NULL;
        errno = 0;
        unsigned long m = strtoul(val, &end, 8);
        if (!*val || errno || *end || m > 0777)
            return fail(x, TV_ERR_INVALID, "%s: expected an octal mode like 0660, got \"%s\"", qk,
                        val);
        c->unix_mode = (unsigned)m;
    } else if (IS("metrics", "listen")) {
        r = set_opt(&c->metrics_listen, strcmp(val, "off") ? val : NULL);
    } else if (IS("listen", "tcp_address")) {
        r = set_opt(&c->tcp_address, val);
    } else if (IS("listen", "tls_cert")) {
        r = set_opt(&c->tls_cert, val);
    } else if (IS("listen", "tls_key")) {
        r = set_opt(&c->tls_key, val);
    } else if (IS("listen", "tls_client_ca")) {
        r = set_opt(&c->tls_client_ca, val);
    } else if (IS("listen", "tls_client_auth")) {
        if (!strcmp(val, "off"))
            c->tls_client_auth = VAULT_TLS_CLIENT_OFF;
        else if (!strcmp(val, "optional"))
            c->tls_client_auth = VAULT_TLS_CLIENT_OPTIONAL;
        else if (!strcmp(val, "required"))
            c->tls_client_auth = VAULT_TLS_CLIENT_REQUIRED;
        else
            return fail(x, TV_ERR_INVALID, "%s: expected off|optional|required, got \"%s\"", qk,
                        val);
    } else if (IS("tee", "backend")) {
        if (*val && strcmp(val, "sim") && strcmp(val, "gramine-sgx") && strcmp(val, "tsm") &&
            strcmp(val, "dstack"))
            return fail(x, TV_ERR_INVALID, "%s: expected sim|gramine-sgx|tsm|dstack, got \"%s\"",
                        qk, val);
        r = set_opt(&c->tee_backend, val);
    } else if (IS("tee", "allow_insecure_sim")) {
        if (parse_bool(val, &c->allow_insecure_sim) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected true|false, got \"%s\"", qk, val);
    } else if (IS("tee", "seal_policy")) {
        if (strcmp(val, "signer") && strcmp(val, "measurement"))
            return fail(x, TV_ERR_INVALID, "%s: expected signer|measurement, got \"%s\"", qk, val);
        r = vault_config_set(&c->seal_policy, val);
    } else if (IS("tee", "root")) {
        r = set_opt(&c->tee_root, val);
    } else if (IS("tee", "sim_signer")) {
        r = set_opt(&c->sim_signer, val);
    } else if (IS("limits", "max_connections")) {
        if (parse_uint(val, 1, 1000000, &c->max_connections) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..1000000, got \"%s\"", qk, val);
    } else if (IS("limits", "max_connections_per_peer")) {
        if (parse_uint(val, 1, 1000000, &c->max_connections_per_peer) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..1000000, got \"%s\"", qk, val);
    } else if (IS("limits", "peer_public_rate")) {
        if (parse_uint(val, 1, 10000000, &c->peer_public_rate) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..10000000, got \"%s\"", qk, val);
    } else if (IS("limits", "peer_public_burst")) {
        if (parse_uint(val, 1, 10000000, &c->peer_public_burst) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..10000000, got \"%s\"", qk, val);
    } else if (IS("limits", "peer_authfail_rate")) {
        if (parse_uint(val, 1, 1000000, &c->peer_authfail_rate) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..1000000, got \"%s\"", qk, val);
    } else if (IS("limits", "peer_authfail_burst")) {
        if (parse_uint(val, 1, 1000000, &c->peer_authfail_burst) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..1000000, got \"%s\"", qk, val);
    } else if (IS("limits", "handshake_timeout")) {
        if (parse_uint(val, 1, 3600, &c->handshake_timeout) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 1..3600, got \"%s\"", qk, val);
    } else if (IS("limits", "auth_timeout")) {
        if (parse_uint(val, 1, 86400, &c->auth_timeout) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 1..86400, got \"%s\"", qk, val);
    } else if (IS("limits", "max_output_bytes")) {
        if (vault_config_parse_size(val, &c->max_output_bytes) < 0 ||
            c->max_output_bytes < (1u << 20))
            return fail(x, TV_ERR_INVALID, "%s: expected a size of at least 1M, got \"%s\"", qk,
                        val);
    } else if (IS("limits", "max_inflight_per_conn")) {
        if (parse_uint(val, 1, 65536, &c->max_inflight_per_conn) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..65536, got \"%s\"", qk, val);
    } else if (IS("limits", "idle_timeout")) {
        if (parse_uint(val, 1, 86400 * 7, &c->idle_timeout) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 1..604800, got \"%s\"", qk, val);
    } else if (IS("limits", "io_timeout")) {
        if (parse_uint(val, 1, 3600, &c->io_timeout) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 1..3600, got \"%s\"", qk, val);
    } else if (IS("limits", "max_value_bytes")) {
        if (vault_config_parse_size(val, &c->max_value_bytes) < 0 || c->max_value_bytes == 0 ||
            c->max_value_bytes > 3u * 1024 * 1024)
            return fail(x, TV_ERR_INVALID, "%s: expected a size up to 3M, got \"%s\"", qk, val);
    } else if (IS("limits", "map_size")) {
        if (vault_config_parse_size(val, &c->map_size) < 0 || c->map_size < 1024 * 1024)
            return fail(x, TV_ERR_INVALID, "%s: expected a size of at least 1M, got \"%s\"", qk,
                        val);
    } else if (IS("log", "level")) {
        if (vault_log_level_parse(val, &c->log_level) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected debug|info|warn|error, got \"%s\"", qk,
                        val);
    } else if (IS("log", "format")) {
        if (vault_log_format_parse(val, &c->log_format) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected text|json, got \"%s\"", qk, val);
    } else if (IS("audit", "checkpoint_records")) {
        if (parse_uint(val, 1, 1000000, &c->audit_checkpoint_records) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..1000000, got \"%s\"", qk, val);
    } else if (IS("audit", "checkpoint_seconds")) {
        if (parse_uint(val, 1, 86400, &c->audit_checkpoint_seconds) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 1..86400, got \"%s\"", qk, val);
    } else if (IS("audit", "warn_percent")) {
        if (parse_uint(val, 1, 99, &c->audit_warn_percent) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..99, got \"%s\"", qk, val);
    } else if (IS("audit", "aggregate_seconds")) {
        if (parse_uint(val, 1, 3600, &c->audit_aggregate_seconds) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 1..3600, got \"%s\"", qk, val);
    } else if (IS("audit", "high_water_percent")) {
        if (parse_uint(val, 50, 99, &c->audit_high_water_percent) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 50..99, got \"%s\"", qk, val);
    } else if (IS("auth", "password_time_cost")) {
        if (parse_uint(val, 1, 16, &c->password_time_cost) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..16, got \"%s\"", qk, val);
    } else if (IS("auth", "password_memory")) {
        if (vault_config_parse_size(val, &c->password_memory) < 0 ||
            c->password_memory < 8 * 1024 * 1024 || c->password_memory > 1024ull * 1024 * 1024)
            return fail(x, TV_ERR_INVALID, "%s: expected a size from 8M to 1G, got \"%s\"", qk,
                        val);
    } else if (IS("auth", "token_default_ttl")) {
        if (parse_uint(val, 60, 365 * 86400, &c->token_default_ttl) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 60..31536000, got \"%s\"", qk,
                        val);
    } else if (IS("auth", "token_max_ttl")) {
        if (parse_uint(val, 60, 365 * 86400, &c->token_max_ttl) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 60..31536000, got \"%s\"", qk,
                        val);
    } else if (IS("auth", "login_rate")) {
        if (parse_uint(val, 0, 1000, &c->login_rate) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 0..1000, got \"%s\"", qk, val);
    } else if (IS("auth", "login_burst")) {
        if (parse_uint(val, 1, 1000, &c->login_burst) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..1000, got \"%s\"", qk, val);
    } else if (IS("attestation", "session_ttl")) {
        if (parse_uint(val, 1, 86400, &c->attest_session_ttl) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 1..86400, got \"%s\"", qk, val);
    } else if (IS("attestation", "nonce_ttl")) {
        if (parse_uint(val, 1, 3600, &c->attest_nonce_ttl) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 1..3600, got \"%s\"", qk, val);
    } else if (IS("attestation", "max_sessions")) {
        if (parse_uint(val, 1, 10000000, &c->attest_max_sessions) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 1..10000000, got \"%s\"", qk, val);
    } else if (IS("attestation", "max_replay")) {
        if (parse_uint(val, 64, 10000000, &c->attest_max_replay) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected 64..10000000, got \"%s\"", qk, val);
    } else if (IS("attestation", "collateral")) {
        r = set_opt(&c->attest_collateral, val);
    } else if (IS("attestation", "sim_platform_dir")) {
        r = set_opt(&c->attest_sim_platform_dir, val);
    } else if (IS("witness", "dir")) {
        r = set_opt(&c->witness_dir, val);
    } else if (IS("witness", "command")) {
        r = set_opt(&c->witness_command, val);
    } else if (IS("witness", "interval")) {
        if (parse_uint(val, 1, 3600, &c->witness_interval) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected seconds 1..3600, got \"%s\"", qk, val);
    } else if (IS("security", "operator_plaintext_reads")) {
        if (parse_bool(val, &c->operator_plaintext_reads) < 0)
            return fail(x, TV_ERR_INVALID, "%s: expected true|false, got \"%s\"", qk, val);
    } else {
        return fail(x, TV_ERR_INVALID, "unknown key %s%s", qk, "");
    }
#undef IS
    if (r < 0)
        return fail(x, r, "%s: out of memory%s", qk, "");
    return 1;
}

int vault_config_load(vault_config *c, const char *path, char *err, size_t errlen)
{
    struct load_ctx x = {.c = c};
    char qpath[256];

    snprintf(qpath, sizeof(qpath), "%s", path);
    if (!(x.f = fopen(path, "re"))) {
        snprintf(err, errlen, "%s: cannot open: %s", qpath, strerror(errno));
        return TV_ERR_IO;
    }
    int line = ini_parse_stream(read_line, &x, on_key, &x);
    fclose(x.f);
    if (line < 0) {
        snprintf(err, errlen, "%s: cannot read", qpath);
        return TV_ERR_IO;
    }
    if (line > 0 || x.err) {
        if (x.err && (line == 0 || x.err_line <= line))
            snprintf(err, errlen, "%s:%d: %s", qpath, x.err_line, x.msg);
        else
            snprintf(err, errlen, "%s:%d: syntax error", qpath, line);
        return x.err ? x.err : TV_ERR_INVALID;
    }
    if (vault_config_set(&c->path, path) < 0)
        return TV_ERR_NOMEM;
    return 0;
}

int vault_config_validate(const vault_config *c, char *err, size_t errlen)
{
    if (c->token_default_ttl > c->token_max_ttl) {
        snprintf(err, errlen, "auth.token_default_ttl (%u) exceeds auth.token_max_ttl (%u)",
                 c->token_default_ttl, c->token_max_ttl);
        return TV_ERR_INVALID;
    }
    const char *where = c->path ? c->path : "config";
    if (!c->tee_backend) {
        snprintf(err, errlen,
                 "%s: no TEE backend chosen: set [tee] backend = gramine-sgx, tsm or dstack "
                 "(hardware), or backend = sim with allow_insecure_sim = true (development only: "
                 "NO hardware protection)",
                 where);
        return TV_ERR_INVALID;
    }
    int sim = strcmp(c->tee_backend, "sim") == 0;
    if (sim && !c->allow_insecure_sim && !c->dev) {
        snprintf(err, errlen,
                 "%s: [tee] backend = sim gives NO hardware protection (the root key is sealed "
                 "to a file in state_dir, evidence is signed by a key on the host's disk); set "
                 "[tee] allow_insecure_sim = true to run it anyway (development and tests only)",
                 where);
        return TV_ERR_INVALID;
    }
    if (!sim && c->attest_sim_platform_dir) {
        snprintf(err, errlen,
                 "%s: [attestation] sim_platform_dir is refused with [tee] backend = %s: a "
                 "hardware vault never accepts sim evidence (remove the key)",
                 where, c->tee_backend);
        return TV_ERR_INVALID;
    }
    if (!sim && c->sim_signer) {
        snprintf(err, errlen, "%s: [tee] sim_signer is for backend = sim only, not %s", where,
                 c->tee_backend);
        return TV_ERR_INVALID;
    }
    if (!c->unix_socket && !c->tcp_address) {
        snprintf(err, errlen, "%s: no listener: set [listen] unix_socket or tcp_address", where);
        return TV_ERR_INVALID;
    }
    if (c->tcp_address && (!c->tls_cert || !c->tls_key)) {
        snprintf(err, errlen, "%s: [listen] tcp_address needs tls_cert and tls_key", where);
        return TV_ERR_INVALID;
    }
    if (c->tcp_address && c->tls_client_auth != VAULT_TLS_CLIENT_OFF && !c->tls_client_ca) {
        snprintf(err, errlen, "%s: [listen] tls_client_auth needs tls_client_ca", where);
        return TV_ERR_INVALID;
    }
    if (c->witness_dir && c->witness_command) {
        snprintf(err, errlen, "%s: [witness] takes dir or command, not both", where);
        return TV_ERR_INVALID;
    }
    return 0;
}

/* Append "key=value\n" to the hash. */
static void h_str(crypto_hash_sha256_state *st, const char *key, const char *val)
{
    crypto_hash_sha256_update(st, (const uint8_t *)key, strlen(key));
    crypto_hash_sha256_update(st, (const uint8_t *)"=", 1);
    if (val)
        crypto_hash_sha256_update(st, (const uint8_t *)val, strlen(val));
    crypto_hash_sha256_update(st, (const uint8_t *)"\n", 1);
}

static void h_num(crypto_hash_sha256_state *st, const char *key, unsigned long long v)
{
    char b[32];
    snprintf(b, sizeof(b), "%llu", v);
    h_str(st, key, b);
}

int vault_config_hash(const vault_config *c, uint8_t out[VAULT_CONFIG_HASH_LEN])
{
    crypto_hash_sha256_state st;
    char mode[16];

    if (!c || !out)
        return TV_ERR_INVALID;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)"teevault-config-v1\n", 19);
    h_str(&st, "state_dir", c->state_dir);
    h_str(&st, "listen.unix_socket", c->unix_socket);
    snprintf(mode, sizeof(mode), "%04o", c->unix_mode);
    h_str(&st, "listen.unix_mode", mode);
    h_str(&st, "listen.tcp_address", c->tcp_address);
    h_str(&st, "listen.tls_cert", c->tls_cert);
    h_str(&st, "listen.tls_key", c->tls_key);
    h_str(&st, "listen.tls_client_ca", c->tls_client_ca);
    h_num(&st, "listen.tls_client_auth", (unsigned)c->tls_client_auth);
    h_str(&st, "tee.backend", c->tee_backend);
    h_num(&st, "tee.allow_insecure_sim", c->allow_insecure_sim != 0);
    h_str(&st, "tee.seal_policy", c->seal_policy);
    h_str(&st, "tee.root", c->tee_root);
    h_str(&st, "tee.sim_signer", c->sim_signer);
    h_num(&st, "limits.max_connections", c->max_connections);
    h_num(&st, "limits.max_inflight_per_conn", c->max_inflight_per_conn);
    h_num(&st, "limits.idle_timeout", c->idle_timeout);
    h_num(&st, "limits.io_timeout", c->io_timeout);
    h_num(&st, "limits.max_value_bytes", c->max_value_bytes);
    h_num(&st, "limits.map_size", c->map_size);
    h_num(&st, "log.level", (unsigned)c->log_level);
    h_num(&st, "log.format", (unsigned)c->log_format);
    h_num(&st, "audit.checkpoint_records", c->audit_checkpoint_records);
    h_num(&st, "audit.checkpoint_seconds", c->audit_checkpoint_seconds);
    h_num(&st, "audit.high_water_percent", c->audit_high_water_percent);
    h_num(&st, "auth.password_time_cost", c->password_time_cost);
    h_num(&st, "auth.password_memory", c->password_memory);
    h_num(&st, "auth.token_default_ttl", c->token_default_ttl);
    h_num(&st, "auth.token_max_ttl", c->token_max_ttl);
    h_num(&st, "auth.login_rate", c->login_rate);
    h_num(&st, "auth.login_burst", c->login_burst);
    h_num(&st, "attestation.session_ttl", c->attest_session_ttl);
    h_num(&st, "attestation.nonce_ttl", c->attest_nonce_ttl);
    h_num(&st, "attestation.max_sessions", c->attest_max_sessions);
    h_str(&st, "attestation.collateral", c->attest_collateral);
    h_str(&st, "attestation.sim_platform_dir", c->attest_sim_platform_dir);
    h_num(&st, "security.operator_plaintext_reads", c->operator_plaintext_reads != 0);
    h_num(&st, "dev", c->dev != 0);
    crypto_hash_sha256_final(&st, out);
    return 0;
}
