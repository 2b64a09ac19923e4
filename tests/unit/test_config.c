/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_config: defaults, every section parsed, and errors that name
 * file:line for unknown keys and bad values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tv_fixture.h"
#include "tv_test.h"
#include "vault_config.h"
#include "vault_log.h"

static char path[64];

static void write_file(const char *text)
{
    if (tv_fx_write(path, text, strlen(text), 0600) != 0) {
        perror(path);
        exit(1);
    }
}

static int load(const char *text, vault_config *c, char *err, size_t errlen)
{
    write_file(text);
    CHECK_EQ_INT(vault_config_defaults(c), 0);
    err[0] = '\0';
    return vault_config_load(c, path, err, errlen);
}

static void test_defaults(void)
{
    vault_config c;
    char err[256];
    CHECK_EQ_INT(vault_config_defaults(&c), 0);
    CHECK_EQ_INT(c.unix_mode, 0660);
    CHECK(c.tee_backend == NULL); /* none chosen: refused until one is */
    CHECK_EQ_INT(c.allow_insecure_sim, 0);
    CHECK_EQ_INT(c.operator_plaintext_reads, 0);
    CHECK(c.tcp_address == NULL);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), TV_ERR_INVALID);
    CHECK(strstr(err, "no TEE backend chosen") != NULL);
    vault_config_free(&c);
}

static void test_full(void)
{
    vault_config c;
    char err[256];
    int r = load("# comment\n"
                 "state_dir = /tmp/x\n"
                 "[listen]\nunix_socket = /tmp/x.sock\nunix_mode = 0600\n"
                 "tcp_address = 127.0.0.1:8200\ntls_cert = c.pem\ntls_key = k.pem\n"
                 "tls_client_ca = ca.pem\ntls_client_auth = required\n"
                 "[tee]\nbackend = tsm\nseal_policy = measurement\nroot = /sys/x\n"
                 "[limits]\nmax_connections = 10\nmax_inflight_per_conn = 2\n"
                 "idle_timeout = 5\nio_timeout = 6\nmax_value_bytes = 64K\nmap_size = 2G\n"
                 "[log]\nlevel = debug\nformat = json\n"
                 "[security]\noperator_plaintext_reads = yes\n",
                 &c, err, sizeof(err));
    CHECK_EQ_INT(r, 0);
    CHECK(strcmp(c.state_dir, "/tmp/x") == 0);
    CHECK_EQ_INT(c.unix_mode, 0600);
    CHECK(c.tcp_address && strcmp(c.tcp_address, "127.0.0.1:8200") == 0);
    CHECK_EQ_INT(c.tls_client_auth, VAULT_TLS_CLIENT_REQUIRED);
    CHECK(strcmp(c.tee_backend, "tsm") == 0);
    CHECK(strcmp(c.seal_policy, "measurement") == 0);
    CHECK_EQ_INT(c.max_connections, 10);
    CHECK_EQ_INT(c.max_inflight_per_conn, 2);
    CHECK_EQ_INT(c.idle_timeout, 5);
    CHECK_EQ_INT(c.io_timeout, 6);
    CHECK_EQ_INT(c.max_value_bytes, 64 * 1024);
    CHECK(c.map_size == 2ull * 1024 * 1024 * 1024);
    CHECK_EQ_INT(c.log_level, VAULT_LOG_DEBUG);
    CHECK_EQ_INT(c.log_format, VAULT_LOG_JSON);
    CHECK_EQ_INT(c.operator_plaintext_reads, 1);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), 0);
    vault_config_free(&c);
}

static void expect_error(const char *text, int line, const char *needle)
{
    vault_config c;
    char err[256], want[128];
    int r = load(text, &c, err, sizeof(err));
    CHECK(r < 0);
    snprintf(want, sizeof(want), "%s:%d: ", path, line);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    CHECK(strstr(err, needle) != NULL);
    if (r >= 0 || strncmp(err, want, strlen(want)) != 0 || !strstr(err, needle))
        fprintf(stderr, "  got: %s (want %s...%s)\n", err, want, needle);
    vault_config_free(&c);
}

static void test_errors(void)
{
    expect_error("state_dir = /x\n[listen]\nbogus = 1\n", 3, "unknown key listen.bogus");
    expect_error("[nosuch]\nkey = 1\n", 2, "unknown key nosuch.key");
    expect_error("[listen]\nunix_mode = 999\n", 2, "octal");
    expect_error("[listen]\ntls_client_auth = maybe\n", 2, "off|optional|required");
    expect_error("[tee]\nbackend = sgx-ish\n", 2, "sim|gramine-sgx");
    expect_error("\n\n[limits]\nmax_connections = 0\n", 4, "max_connections");
    expect_error("[limits]\nmax_value_bytes = 5M\n", 2, "max_value_bytes");
    expect_error("[limits]\nmap_size = 12Q\n", 2, "map_size");
    expect_error("[log]\nformat = xml\n", 2, "text|json");
    expect_error("[security]\noperator_plaintext_reads = perhaps\n", 2, "true|false");
    expect_error("[listen]\nthis line has no equals sign\n", 2, "syntax");
    /* Missing file. */
    vault_config c;
    char err[256];
    CHECK_EQ_INT(vault_config_defaults(&c), 0);
    CHECK_EQ_INT(vault_config_load(&c, "/nonexistent/teevault.conf", err, sizeof(err)), TV_ERR_IO);
    vault_config_free(&c);
}

static void test_validate(void)
{
    vault_config c;
    char err[256];
    CHECK_EQ_INT(
        load("[tee]\nbackend = tsm\n[listen]\ntcp_address = 127.0.0.1:1\n", &c, err, sizeof(err)),
        0);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), TV_ERR_INVALID);
    CHECK(strstr(err, "tls_cert") != NULL);
    vault_config_free(&c);
    CHECK_EQ_INT(load("[tee]\nbackend = tsm\n[listen]\nunix_socket =\n", &c, err, sizeof(err)), 0);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), TV_ERR_INVALID);
    CHECK(strstr(err, "no listener") != NULL);
    vault_config_free(&c);
}

/* The config is host input: no backend, sim without the opt-in, and sim-only
 * keys on a hardware backend are refused with a message saying what to do. */
static void test_hostile(void)
{
    vault_config c;
    char err[512];
    CHECK_EQ_INT(load("[tee]\nbackend =\n", &c, err, sizeof(err)), 0);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), TV_ERR_INVALID);
    CHECK(strstr(err, "no TEE backend chosen") && strstr(err, "allow_insecure_sim"));
    vault_config_free(&c);
    CHECK_EQ_INT(load("[tee]\nbackend = sim\n", &c, err, sizeof(err)), 0);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), TV_ERR_INVALID);
    CHECK(strstr(err, "NO hardware protection") && strstr(err, "allow_insecure_sim = true"));
    c.dev = 1; /* --dev is the opt-in */
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), 0);
    vault_config_free(&c);
    CHECK_EQ_INT(load("[tee]\nbackend = sim\nallow_insecure_sim = true\n", &c, err, sizeof(err)),
                 0);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), 0);
    vault_config_free(&c);
    expect_error("[tee]\nallow_insecure_sim = maybe\n", 2, "true|false");
    CHECK_EQ_INT(load("[tee]\nbackend = gramine-sgx\n[attestation]\nsim_platform_dir = /tmp\n", &c,
                      err, sizeof(err)),
                 0);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), TV_ERR_INVALID);
    CHECK(strstr(err, "sim_platform_dir") && strstr(err, "never accepts sim evidence"));
    vault_config_free(&c);
    /* allow_insecure_sim does not make a hardware vault take sim keys. */
    CHECK_EQ_INT(load("[tee]\nbackend = tsm\nallow_insecure_sim = true\nsim_signer = x\n", &c, err,
                      sizeof(err)),
                 0);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), TV_ERR_INVALID);
    CHECK(strstr(err, "sim_signer") != NULL);
    vault_config_free(&c);
}

/* The effective config's hash: the parsed settings, not the file's bytes. */
static void test_hash(void)
{
    vault_config a, b;
    char err[256];
    uint8_t ha[VAULT_CONFIG_HASH_LEN], hb[VAULT_CONFIG_HASH_LEN];
    CHECK_EQ_INT(load("[tee]\nbackend = tsm\n[limits]\nmap_size = 1G\n", &a, err, sizeof(err)), 0);
    CHECK_EQ_INT(load("# same settings, other spelling\n[limits]\nmap_size = 1024M\n"
                      "[tee]\nbackend = tsm\n[listen]\nunix_mode = 660\n",
                      &b, err, sizeof(err)),
                 0);
    CHECK_EQ_INT(vault_config_hash(&a, ha), 0);
    CHECK_EQ_INT(vault_config_hash(&b, hb), 0);
    CHECK(memcmp(ha, hb, sizeof(ha)) == 0);
    /* Any setting changes it. */
    b.operator_plaintext_reads = 1;
    CHECK_EQ_INT(vault_config_hash(&b, hb), 0);
    CHECK(memcmp(ha, hb, sizeof(ha)) != 0);
    b.operator_plaintext_reads = 0;
    b.attest_nonce_ttl++;
    CHECK_EQ_INT(vault_config_hash(&b, hb), 0);
    CHECK(memcmp(ha, hb, sizeof(ha)) != 0);
    b.attest_nonce_ttl--;
    CHECK_EQ_INT(vault_config_set(&b.attest_collateral, "/etc/c"), 0);
    CHECK_EQ_INT(vault_config_hash(&b, hb), 0);
    CHECK(memcmp(ha, hb, sizeof(ha)) != 0);
    CHECK_EQ_INT(vault_config_hash(NULL, hb), TV_ERR_INVALID);
    vault_config_free(&a);
    vault_config_free(&b);
}

/* The packaged example documents every key and loads as is. */
static void test_packaged_example(void)
{
    const char *src = getenv("TV_SOURCE_DIR");
    char p[512], err[256];
    vault_config c;
    if (!src)
        return;
    snprintf(p, sizeof(p), "%s/packaging/teevault.conf", src);
    CHECK_EQ_INT(vault_config_defaults(&c), 0);
    CHECK_EQ_INT(vault_config_load(&c, p, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.operator_plaintext_reads, 0);
    CHECK_EQ_INT(c.unix_mode, 0660);
    /* It names no backend: teevaultd refuses it until one is chosen. */
    CHECK(c.tee_backend == NULL);
    CHECK_EQ_INT(vault_config_validate(&c, err, sizeof(err)), TV_ERR_INVALID);
    CHECK(strstr(err, "no TEE backend chosen") != NULL);
    vault_config_free(&c);
}

int main(void)
{
    snprintf(path, sizeof(path), "/tmp/tv-test-config.%d.conf", (int)getpid());
    RUN(test_defaults);
    RUN(test_full);
    RUN(test_errors);
    RUN(test_validate);
    RUN(test_hostile);
    RUN(test_hash);
    RUN(test_packaged_example);
    unlink(path);
    return tv_test_finish();
}
