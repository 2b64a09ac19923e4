/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_config: teevaultd's configuration, read from an INI file (libinih).
 * Every key is documented in packaging/teevault.conf. Unknown sections or
 * keys and malformed values are errors naming file:line.
 *
 * Ownership: vault_config_defaults() fills a caller-owned struct; strings in
 * it are malloc'ed and released by vault_config_free().
 */
#ifndef VAULT_CONFIG_H
#define VAULT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "tv_err.h"

enum vault_tls_client_auth {
    VAULT_TLS_CLIENT_OFF = 0,
    VAULT_TLS_CLIENT_OPTIONAL = 1,
    VAULT_TLS_CLIENT_REQUIRED = 2,
};

typedef struct vault_config {
    char *path;      /* file it was loaded from, or NULL */
    char *state_dir; /* LMDB, sealed root key, sim key; default /var/lib/teevault */
    /* [listen] */
    char *unix_socket;   /* NULL or "" = no Unix listener */
    unsigned unix_mode;  /* default 0660 */
    char *tcp_address;   /* "host:port" / "[v6]:port"; NULL = no TCP listener */
    char *tls_cert;      /* PEM chain; required with tcp_address */
    char *tls_key;       /* PEM key; required with tcp_address */
    char *tls_client_ca; /* CAs for client certificates */
    int tls_client_auth; /* enum vault_tls_client_auth */
    /* [tee] */
    char *tee_backend;      /* sim | gramine-sgx | tsm | dstack; default NULL: none chosen,
                             * and teevaultd refuses to start (vault_config_validate) */
    int allow_insecure_sim; /* [tee] allow_insecure_sim: the opt-in sim needs; --dev sets it */
    char *seal_policy;      /* signer | measurement; default signer */
    char *tee_root;         /* backend root path, NULL = backend default */
    char *sim_signer;       /* sim backend signer identity string */
    /* [limits] */
    unsigned max_connections;       /* default 1024 */
    unsigned max_inflight_per_conn; /* default 64 */
    /* Strangers (issue 14, vault_peer.h): per peer (Unix uid / TCP address). */
    unsigned max_connections_per_peer; /* default 128 */
    unsigned peer_public_rate;         /* unauthenticated calls/s per peer; default 1000 */
    unsigned peer_public_burst;        /* default 2000 */
    unsigned peer_authfail_rate;       /* failed authentications/s per peer; default 5 */
    unsigned peer_authfail_burst;      /* default 20 */
    unsigned handshake_timeout;        /* seconds for the TLS handshake; default 10 */
    unsigned auth_timeout;             /* seconds to the first authenticated request; 30 */
    uint64_t max_output_bytes;         /* queued output, all connections; default 16 MiB */
    unsigned idle_timeout;             /* seconds; default 300 */
    unsigned io_timeout;               /* seconds a write may stall; default 30 */
    uint64_t max_value_bytes;          /* default 1 MiB */
    uint64_t map_size;                 /* LMDB map size, bytes; default 1 GiB */
    /* [log] */
    int log_level;  /* enum vault_log_level; default info */
    int log_format; /* enum vault_log_format; default text */
    /* [audit] */
    unsigned audit_checkpoint_records; /* checkpoint after N records; default 1000 */
    unsigned audit_checkpoint_seconds; /* ... or after T seconds; default 10 */
    unsigned audit_high_water_percent; /* refuse secret writes at this fill; default 90 */
    unsigned audit_warn_percent;       /* warn in the log from this fill; default 75 */
    unsigned audit_aggregate_seconds;  /* anonymous probes: one record per peer per T; 60 */
    /* [auth] */
    unsigned password_time_cost; /* Argon2id t for user passwords; default 3 */
    uint64_t password_memory;    /* Argon2id memory, bytes; default 64 MiB */
    unsigned token_default_ttl;  /* seconds; default 86400 */
    unsigned token_max_ttl;      /* seconds; default 2592000 (30 days) */
    unsigned login_rate;         /* password checks per second, all users; 0 = off; default 2 */
    unsigned login_burst;        /* default 5 */
    /* [attestation] */
    unsigned attest_session_ttl;   /* seconds a function session lives; default 900 */
    unsigned attest_nonce_ttl;     /* seconds a challenge nonce lives; default 60 */
    unsigned attest_max_sessions;  /* live function sessions; default 131072 */
    unsigned attest_max_replay;    /* used nonces remembered (replay set); default 65536 */
    char *attest_collateral;       /* SGX/TDX collateral dir or bundle file; NULL = none */
    char *attest_sim_platform_dir; /* sim platform key dir; NULL = tee root or state_dir */
    /* [witness] (docs/ATTESTATION.md "Witness"): where signed state
     * checkpoints go, outside the host's sole control. At most one of dir
     * and command. */
    char *witness_dir;         /* a directory (separate mount / network share) */
    char *witness_command;     /* run as `command publish` (checkpoint on stdin) and
                                  `command latest` (newest checkpoint on stdout) */
    unsigned witness_interval; /* seconds between publications of a changed state; default 5 */
    /* [security] */
    int operator_plaintext_reads; /* default 0 (packaged); --dev sets 1 */
    /* [metrics] */
    char *metrics_listen; /* HOST:PORT for GET /metrics and /health; NULL = off */
    /* Not from the file. */
    int dev; /* started with --dev */
} vault_config;

/* Fill with defaults (allocates the default strings). TV_ERR_NOMEM. */
int vault_config_defaults(vault_config *c) TV_WUR;

/* Load `path` over the current values. On error err (errlen bytes) holds
 * "path:line: message". Errors: TV_ERR_IO (cannot open), TV_ERR_INVALID
 * (unknown section/key, bad value), TV_ERR_NOMEM. The struct may be partly
 * updated on error; the caller frees it and exits. */
int vault_config_load(vault_config *c, const char *path, char *err, size_t errlen) TV_WUR;

/* Check cross-key constraints (TLS files with tcp_address, a listener at all)
 * and treat the file as host input: a TEE backend must be chosen; sim only
 * with allow_insecure_sim (or --dev); sim-only keys ([tee] sim_signer,
 * [attestation] sim_platform_dir) only with the sim backend.
 * TV_ERR_INVALID with a message in err. */
int vault_config_validate(const vault_config *c, char *err, size_t errlen) TV_WUR;

/* The effective configuration's hash: SHA-256 over a canonical text form
 * of every parsed setting (not the file's bytes: comments, order, spelling
 * of sizes and booleans do not matter; defaults are included, so two files
 * that mean the same settings hash the same). The form is
 *   "teevault-config-v1\n" then one "section.key=value\n" per setting in a
 *   fixed order, numbers in decimal, booleans 0/1, modes in octal, absent
 *   strings empty, the --dev flag as "dev=0|1".
 * It is exposed so the vault's attested Report can bind it (relying parties
 * see what the vault runs with): issue 12 (Report v2) calls this. teevaultd
 * logs it at start-up ("ready" event, config_hash). Strings containing '\n'
 * are refused by the INI parser, so the form is unambiguous.
 * Returns 0, or TV_ERR_INVALID (NULL argument). */
#define VAULT_CONFIG_HASH_LEN 32
int vault_config_hash(const vault_config *c, uint8_t out[VAULT_CONFIG_HASH_LEN]) TV_WUR;

/* Replace *dst with a copy of s (NULL allowed). TV_ERR_NOMEM. */
int vault_config_set(char **dst, const char *s) TV_WUR;

/* Parse "size" values: a number with optional K/M/G/T suffix (powers of 1024). */
int vault_config_parse_size(const char *s, uint64_t *out) TV_WUR;

void vault_config_free(vault_config *c);

#endif
