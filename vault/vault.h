/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault: the daemon's shared context and the contract between the server
 * (transport, framing, dispatch) and the RPC handlers (rpc_<service>.c).
 *
 * Ownership: one `struct vault` per daemon, created by vault_main and alive
 * until shutdown. Handlers run on the event-loop thread and must not block
 * beyond an LMDB transaction.
 */
#ifndef VAULT_H
#define VAULT_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>

#include "proto_buf.h"
#include "tv_err.h"

struct event_base;
struct vault_config;
struct vault_db;
struct vault_keyring;
struct audit_log;
struct seal_backend;

#define VAULT_NAME_MAX 512
#define VAULT_ID_MAX   128

enum vault_principal_kind {
    VAULT_PRINCIPAL_NONE = 0,     /* no token presented */
    VAULT_PRINCIPAL_OPERATOR = 1, /* token from init, login or token create */
    VAULT_PRINCIPAL_FUNCTION = 2, /* session token from Attestation.Attest */
};

/* Who is calling. Filled by the server from the `authorization: Bearer`
 * metadata before the handler runs; owned by the server, valid during the call. */
typedef struct vault_principal {
    enum vault_principal_kind kind;
    char id[VAULT_ID_MAX];   /* token id (operator) or function name (function) */
    char user[VAULT_ID_MAX]; /* user name, empty for root/created tokens */
    int root;                /* root token: every capability */
    char **policies;         /* ACL policy names bound to the principal */
    size_t n_policies;
    uint8_t fn_session[32]; /* function sessions: the session's id, for vault_attest_seal_get() */
} vault_principal;

/* One request in flight. The server owns it; the handler fills the audit
 * fields and, on error, errmsg (a sentence with no secret in it; quote
 * attacker-supplied names with vault_quote()). */
struct vault_call;

/* Slow, self-contained work a handler hands off the event loop (Argon2id):
 * the handler returns 0 with nothing packed and c->offload/c->offload_arg
 * set; the server runs work(arg) on its worker thread (work touches nothing
 * but arg), then finish(c, arg, out) on the loop thread, whose result stands
 * for the handler's; finish releases arg. discard(arg) releases it instead
 * when the request is dropped before finish ran (shutdown). */
typedef struct vault_offload {
    void (*work)(void *arg);
    int (*finish)(struct vault_call *c, void *arg, proto_buf *out);
    void (*discard)(void *arg);
} vault_offload;

/* A write a handler hands to the audit writer's group commit (Secrets.Put):
 * the handler returns 0 with nothing packed and c->write/c->write_arg set.
 * apply(arg, txn, &version) runs inside the batch's write transaction, in a
 * nested transaction of its own (on the audit writer thread: it touches
 * nothing but arg and the store); its result is the audit record's outcome
 * and `version` (when set) the record's version. Once the batch is durable,
 * finish(c, arg, status, out) runs on the loop thread with apply's result,
 * or the commit's error (TV_ERR_AUDIT, TV_ERR_STORAGE_FULL: nothing stored);
 * its result stands for the handler's and it releases arg. discard(arg)
 * releases it instead when the request is dropped before (shutdown). */
typedef struct vault_write {
    int (*apply)(void *arg, MDB_txn *txn, uint64_t *version);
    int (*finish)(struct vault_call *c, void *arg, int status, proto_buf *out);
    void (*discard)(void *arg);
} vault_write;

/* One request metadata entry (ttrpc metadata, HTTP/2 or HTTP/1.1 header):
 * NUL-terminated key (lower case for HTTP) and value. */
typedef struct vault_md {
    const char *key;
    const char *value;
} vault_md;

/* The call context: the same for every transport (ttrpc, gRPC, Connect). */
typedef struct vault_call {
    struct vault *v;
    const vault_principal *principal; /* never NULL; kind NONE when unauthenticated */
    const char *service;              /* "teevault.v1.Secrets" */
    const char *method;               /* "Get" */
    const char *peer;                 /* "unix" or "ip:port" */
    const char *transport;            /* "ttrpc", "grpc", "connect" */
    /* Request metadata, owned by the transport: valid only while the
     * handler's synchronous part runs (not in offload/write finish). */
    const vault_md *md;
    size_t n_md;
    uint64_t deadline_us; /* CLOCK_MONOTONIC microseconds; 0 = none */
    char request_id[33];  /* hex, unique per request */
    /* Audit fields, set by the handler where they apply. */
    char audit_secret[VAULT_NAME_MAX + 1];
    uint64_t audit_version;
    char audit_detail[128];       /* short reason; never a value or token */
    int audited;                  /* set when the record was committed inside
                                     the handler's own write transaction */
    const vault_offload *offload; /* see vault_offload */
    void *offload_arg;
    const vault_write *write; /* see vault_write */
    void *write_arg;
    int refused_early;       /* the server refused the call before its handler
                                (a per-peer budget): audited in the aggregate */
    uint32_t reply_delay_ms; /* handler asks the server to hold the reply
                                (login back-off); the server uses a timer */
    char errmsg[256];
} vault_call;

/* A handler: decode is done (req passed protobuf_c_message_check), the
 * method's access flags were checked. It packs its response message into
 * `out` (a wiping buffer owned by the server) and returns 0, or returns a
 * tv_err (mapped to a gRPC status) with c->errmsg set. Secrets in locals are
 * wiped by the handler before it returns. */
typedef int (*vault_rpc_fn)(vault_call *c, const ProtobufCMessage *req, proto_buf *out);

enum vault_method_flags {
    VAULT_M_PUBLIC =
        1 << 0, /* callable without a token (Status, Health, Login, Challenge, Attest) */
    VAULT_M_UNINIT = 1 << 1,   /* callable before the vault is initialised */
    VAULT_M_FUNCTION = 1 << 2, /* callable by function sessions */
    VAULT_M_READ = 1 << 3,     /* audited through group commit (no write txn of its own) */
};

/* How a service binds its handlers: one entry per rpc in the proto's service
 * (by name), terminated by an entry with fn == NULL. The request and response
 * message types come from protoc-c's service descriptor, never from here. */
typedef struct vault_handler {
    const char *method; /* "Get": a method of the service descriptor */
    vault_rpc_fn fn;
    unsigned flags; /* enum vault_method_flags */
} vault_handler;

/* One service: protoc-c's descriptor and its handlers. Each rpc_<service>.c
 * defines one; vault_registry.c lists them all (plain references, so a
 * static link pulls every service in). */
typedef struct vault_service {
    const ProtobufCServiceDescriptor *desc;
    const vault_handler *handlers;
} vault_service;

/* A resolved method, as the registry (vault_registry.h) hands it out: names
 * and message descriptors from the service descriptor, fn and flags from the
 * service's handler table. Static storage, valid for the process. */
typedef struct vault_method {
    const char *service; /* "teevault.v1.Secrets" */
    const char *method;  /* "Get" */
    const ProtobufCMessageDescriptor *req_desc;
    const ProtobufCMessageDescriptor *resp_desc;
    vault_rpc_fn fn;
    unsigned flags;
} vault_method;

extern const vault_service vault_rpc_sys;         /* rpc_sys.c */
extern const vault_service vault_rpc_auth;        /* rpc_auth.c */
extern const vault_service vault_rpc_secrets;     /* rpc_secrets.c */
extern const vault_service vault_rpc_policies;    /* rpc_policies.c */
extern const vault_service vault_rpc_functions;   /* rpc_functions.c */
extern const vault_service vault_rpc_governance;  /* rpc_governance.c */
extern const vault_service vault_rpc_attestation; /* rpc_attestation.c */
extern const vault_service vault_rpc_audit;       /* rpc_audit.c */

/* The daemon's context. */
struct vault {
    struct vault_config *cfg;
    struct seal_backend *seal;
    struct vault_db *db;       /* LMDB environment and named databases */
    struct vault_keyring *kr;  /* root key and KEK epochs; NULL until initialised/unsealed */
    struct vault_store *store; /* encrypted secrets; opened with kr (vault_activate) */
    struct audit_log *audit;   /* NULL until the audit writer is wired in */
    /* Group-commit audit writer (vault_audit.c); NULL until vault_audit_open. */
    struct vault_audit *auditw;
    struct event_base *base;
    /* Challenge nonces and function sessions (vault_attest.c); created on
     * first use or by vault_attest_configure, freed by vault_attest_close. */
    struct vault_attest *attest;
    /* The signing identity derived from the root key (vault_ident.c); made
     * on first use, freed by vault_ident_close. */
    struct vault_ident *ident;
    /* The state witness and its publisher (vault_witness.c); NULL when none
     * is configured. */
    struct vault_witness *witness;
    /* Background KEK re-wrap after Sys.Rotate (vault_rotate.c); NULL when none ran. */
    struct vault_rotation *rotation;
    /* Request / audit counters and the /metrics listener (vault_metrics.c); NULL when off. */
    struct vault_metrics *metrics;
    /* Requests read and not yet answered, all connections (loop thread;
     * vault_server.c). The audit writer commits a lone record on the loop
     * only when at most one request is waiting (vault_audit.c flush_cb). */
    unsigned requests_inflight;
};

/* Run handler m for call c the way the server does, but synchronously: an
 * offloaded handler's work and finish run here and now. For unit tests,
 * fuzzers and tools; the daemon runs offloaded work on its worker thread. */
int vault_call_handler(const vault_method *m, vault_call *c, const ProtobufCMessage *req,
                       proto_buf *out) TV_WUR;

/* Run c's pending offload (work, then finish) or write (through the audit
 * writer, waiting for its commit) here and now; 0 when none. Returns
 * finish's result. */
int vault_call_run_offload(vault_call *c, proto_buf *out) TV_WUR;

/* protobuf-c allocator that wipes every block it frees: decoded requests
 * may carry secrets. Use it for every message unpacked from the wire. */
extern ProtobufCAllocator vault_wiping_allocator;

/* Pack a response message into out. Returns 0 or TV_ERR_NOMEM/TV_ERR_TOO_LARGE. */
int vault_pack(proto_buf *out, const ProtobufCMessage *msg) TV_WUR;

/* Write `s` into dst (size dstlen) as a double-quoted string with control and
 * non-ASCII bytes escaped (\xNN), truncated with "..." if needed. For quoting
 * attacker-supplied names in error messages and logs. */
void vault_quote(char *dst, size_t dstlen, const char *s, size_t slen);

#endif
