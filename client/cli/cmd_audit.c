/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault audit list | export | archive | verify: service Audit, and the
 * offline verifier (audit/audit.h), which needs no daemon.
 *
 * The Audit service has no public tv_* wrapper yet (its records map onto
 * audit_record, which libteevault's public header does not carry), so this
 * file calls tv_call() directly through the library's internal header.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../tv_client_int.h"
#include "audit.h"

/* protoc-c's *__INIT macros cast protobuf_c_empty_string's const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"

enum {
    OPT_SINCE = 0x2400,
    OPT_PRINCIPAL,
    OPT_SECRET,
    OPT_LIMIT,
    OPT_FROM,
    OPT_TO,
    OPT_PUBKEY,
    OPT_OUT,
    OPT_UPTO
};

static const struct option list_opts[] = {
    {"since", required_argument, NULL, OPT_SINCE},
    {"principal", required_argument, NULL, OPT_PRINCIPAL},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {0},
};

static const struct option export_opts[] = {
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {0},
};

static const struct option archive_opts[] = {
    {"out", required_argument, NULL, OPT_OUT},
    {"upto", required_argument, NULL, OPT_UPTO},
    {"pubkey", required_argument, NULL, OPT_PUBKEY},
    {0},
};

static const struct option verify_opts[] = {
    {"pubkey", required_argument, NULL, OPT_PUBKEY},
    {0},
};

/* A record from the wire into audit_record; refuses what the format cannot
 * hold (the server never sends it, but the CLI does not trust the wire). */
static int from_pb(const Teevault__V1__AuditRecord *m, audit_record *r)
{
    memset(r, 0, sizeof(*r));
#define STR(dst, src, cap)                                                                         \
    do {                                                                                           \
        size_t _n = (src) ? strlen(src) : 0;                                                       \
        if (_n > (cap))                                                                            \
            return TV_ERR_FORMAT;                                                                  \
        audit_record_set_str((dst), (cap), (src), _n);                                             \
    } while (0)
    STR(r->principal, m->principal, AUDIT_PRINCIPAL_MAX);
    STR(r->method, m->method, AUDIT_METHOD_MAX);
    STR(r->secret, m->secret, AUDIT_SECRET_MAX);
    STR(r->request_id, m->request_id, AUDIT_REQID_MAX);
    STR(r->peer, m->peer, AUDIT_PEER_MAX);
    STR(r->detail, m->detail, AUDIT_DETAIL_MAX);
#undef STR
    if (m->prev_hash.len != AUDIT_HASH_LEN || m->hash.len != AUDIT_HASH_LEN || m->status < 0)
        return TV_ERR_FORMAT;
    r->seq = m->seq;
    r->time_ns = m->time_ns;
    r->version = m->version;
    r->status = (uint32_t)m->status;
    memcpy(r->prev_hash, m->prev_hash.data, AUDIT_HASH_LEN);
    memcpy(r->hash, m->hash.data, AUDIT_HASH_LEN);
    return 0;
}

static int ckpt_from_pb(const Teevault__V1__AuditCheckpoint *m, audit_checkpoint *c)
{
    if (m->head_hash.len != AUDIT_HASH_LEN || m->signature.len != AUDIT_SIG_LEN)
        return TV_ERR_FORMAT;
    memset(c, 0, sizeof(*c));
    c->first_seq = m->first_seq;
    c->last_seq = m->last_seq;
    c->time_ns = m->time_ns;
    memcpy(c->head_hash, m->head_hash.data, AUDIT_HASH_LEN);
    memcpy(c->sig, m->signature.data, AUDIT_SIG_LEN);
    return 0;
}

static const char *grpc_name(int32_t st)
{
    static const char *n[] = {"OK",
                              "CANCELLED",
                              "UNKNOWN",
                              "INVALID_ARGUMENT",
                              "DEADLINE_EXCEEDED",
                              "NOT_FOUND",
                              "ALREADY_EXISTS",
                              "PERMISSION_DENIED",
                              "RESOURCE_EXHAUSTED",
                              "FAILED_PRECONDITION",
                              "ABORTED",
                              "OUT_OF_RANGE",
                              "UNIMPLEMENTED",
                              "INTERNAL",
                              "UNAVAILABLE",
                              "DATA_LOSS",
                              "UNAUTHENTICATED"};
    return st >= 0 && st <= 16 ? n[st] : "?";
}

static int au_list(struct cli_ctx *ctx, int argc, char **argv)
{
    Teevault__V1__AuditListRequest rq = TEEVAULT__V1__AUDIT_LIST_REQUEST__INIT;
    Teevault__V1__AuditListResponse *resp = NULL;
    uint64_t v;
    int o, r;

    while ((o = cli_getopt(ctx, argc, argv, list_opts)) != -1) {
        switch (o) {
        case OPT_SINCE:
            if (cli_parse_u64(optarg, &rq.since) < 0)
                return cli_usage_err(ctx, "--since takes a sequence number");
            break;
        case OPT_PRINCIPAL:
            rq.principal = optarg;
            break;
        case OPT_SECRET:
            rq.secret = optarg;
            break;
        case OPT_LIMIT:
            if (cli_parse_u64(optarg, &v) < 0 || v == 0 || v > 1000)
                return cli_usage_err(ctx, "--limit takes 1..1000");
            rq.limit = (uint32_t)v;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_call(ctx->client, TV_SVC_AUDIT, "List", &rq.base,
                     &teevault__v1__audit_list_response__descriptor, (ProtobufCMessage **)&resp)) <
        0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_list_begin(ctx, "records");
    for (size_t i = 0; i < resp->n_records; i++) {
        const Teevault__V1__AuditRecord *m = resp->records[i];
        cli_out_item_begin(ctx);
        cli_out_u64(ctx, "seq", m->seq);
        cli_out_time(ctx, "time", m->time_ns / 1000000000);
        cli_out_str(ctx, "principal", m->principal);
        cli_out_str(ctx, "method", m->method);
        if (m->secret && m->secret[0]) {
            cli_out_str(ctx, "secret", m->secret);
            cli_out_u64(ctx, "version", m->version);
        }
        cli_out_str(ctx, "status", grpc_name(m->status));
        if (m->detail && m->detail[0])
            cli_out_str(ctx, "detail", m->detail);
        cli_out_str(ctx, "peer", m->peer);
        cli_out_str(ctx, "request_id", m->request_id);
        cli_out_item_end(ctx);
    }
    cli_out_list_end(ctx);
    cli_out_end(ctx);
    tv_msg_free(&resp->base);
    return CLI_OK;
}

static int put_line(struct cli_ctx *ctx, FILE *f, const char *buf, int n)
{
    if (n < 0)
        return cli_errorf(ctx, "an exported line does not fit the line buffer");
    if (fwrite(buf, 1, (size_t)n, f) != (size_t)n)
        return cli_errorf(ctx, "write failed: %s", strerror(errno));
    return 0;
}

/* Export [from, to] (0 = from the first record / up to the head) as JSON
 * lines into f, page by page. *has_pk / pk: the vault's audit key (from the
 * first page). Returns 0, CLI_ERR (reported) or the cli_fail code. */
static int export_lines(struct cli_ctx *ctx, FILE *f, uint64_t from, uint64_t to, uint64_t *n_out,
                        int *has_pk_out, uint8_t pk[AUDIT_PK_LEN])
{
    Teevault__V1__AuditExportRequest rq = TEEVAULT__V1__AUDIT_EXPORT_REQUEST__INIT;
    Teevault__V1__AuditExportResponse *resp = NULL;
    static char line[AUDIT_JSON_LINE_MAX];
    int has_pk = 0, header_done = 0;
    uint64_t n_records = 0;
    int r, ret = CLI_ERR;

    rq.from = from;
    rq.to = to;
    for (;;) {
        if ((r = tv_call(ctx->client, TV_SVC_AUDIT, "Export", &rq.base,
                         &teevault__v1__audit_export_response__descriptor,
                         (ProtobufCMessage **)&resp)) < 0)
            return cli_fail(ctx, r);
        if (!header_done) {
            has_pk = resp->pubkey.len == AUDIT_PK_LEN;
            if (has_pk)
                memcpy(pk, resp->pubkey.data, AUDIT_PK_LEN);
            if (put_line(ctx, f, line, audit_json_header(line, sizeof(line), has_pk ? pk : NULL)))
                goto out;
            header_done = 1;
        } else if (resp->pubkey.len != (has_pk ? AUDIT_PK_LEN : 0) ||
                   (has_pk && memcmp(resp->pubkey.data, pk, AUDIT_PK_LEN) != 0)) {
            cli_errorf(ctx, "the vault's audit key changed during the export; run it again");
            goto out;
        }
        /* Records, each followed by the checkpoints that end at it. */
        size_t ci = 0;
        for (size_t i = 0; i < resp->n_records; i++) {
            audit_record rec;
            if (from_pb(resp->records[i], &rec) < 0) {
                cli_errorf(ctx, "the vault sent a malformed audit record");
                goto out;
            }
            if (put_line(ctx, f, line, audit_json_record(line, sizeof(line), &rec)))
                goto out;
            n_records++;
            for (; ci < resp->n_checkpoints && resp->checkpoints[ci]->last_seq <= rec.seq; ci++) {
                audit_checkpoint ck;
                if (resp->checkpoints[ci]->last_seq != rec.seq)
                    continue;
                if (ckpt_from_pb(resp->checkpoints[ci], &ck) < 0) {
                    cli_errorf(ctx, "the vault sent a malformed checkpoint");
                    goto out;
                }
                if (put_line(ctx, f, line, audit_json_checkpoint(line, sizeof(line), &ck)))
                    goto out;
            }
        }
        if (!resp->next_from || resp->n_records == 0)
            break;
        if (resp->next_from <= rq.from) {
            cli_errorf(ctx, "the vault's export did not advance; stopping");
            goto out;
        }
        rq.from = resp->next_from;
        rq.to = resp->last_seq;
        tv_msg_free(&resp->base);
        resp = NULL;
    }
    *n_out = n_records;
    *has_pk_out = has_pk;
    ret = 0;
out:
    if (resp)
        tv_msg_free(&resp->base);
    return ret;
}

static int au_export(struct cli_ctx *ctx, int argc, char **argv)
{
    uint64_t from = 0, to = 0, n_records = 0;
    uint8_t pk[AUDIT_PK_LEN];
    int o, r, has_pk = 0;

    while ((o = cli_getopt(ctx, argc, argv, export_opts)) != -1) {
        switch (o) {
        case OPT_FROM:
            if (cli_parse_u64(optarg, &from) < 0)
                return cli_usage_err(ctx, "--from takes a sequence number");
            break;
        case OPT_TO:
            if (cli_parse_u64(optarg, &to) < 0)
                return cli_usage_err(ctx, "--to takes a sequence number");
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if (to && from > to)
        return cli_usage_err(ctx, "--from is after --to");
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = export_lines(ctx, ctx->out, from, to, &n_records, &has_pk, pk)) != 0)
        return r;
    if (fflush(ctx->out) != 0)
        return cli_errorf(ctx, "write to stdout failed: %s", strerror(errno));
    fprintf(ctx->err, "exported %" PRIu64 " audit records%s\n", n_records,
            has_pk ? "" : " (the vault has no audit key yet: no checkpoints)");
    return CLI_OK;
}

/* Verify the lines of f into v (a later file: audit_verifier_next_file
 * first). 0, or -1 on a read error. */
static int verify_stream(audit_verifier *v, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (audit_verifier_line(v, line, (size_t)n) < 0)
            break; /* the first problem decides; the rest is not read */
    }
    free(line);
    return ferror(f) ? -1 : 0;
}

/*
 * teevault audit archive --out FILE [--upto SEQ] [--pubkey KEY]
 *
 * Retention (docs/AUDIT.md "Archive"): export the records up to SEQ (default:
 * the head) into a new file (0600, never overwritten), fsync it, verify it
 * offline (every hash, every checkpoint, covered to SEQ), then show the vault
 * the hash of record SEQ so it drops the records below it (Audit.Prune,
 * destroy on sys/audit). Record SEQ stays in the vault as the anchor of the
 * live log: `teevault audit verify FILE LIVE` checks the archive and a later
 * export of the live log as one chain.
 */
static int au_archive(struct cli_ctx *ctx, int argc, char **argv)
{
    Teevault__V1__AuditPruneRequest prq = TEEVAULT__V1__AUDIT_PRUNE_REQUEST__INIT;
    Teevault__V1__AuditPruneResponse *presp = NULL;
    const char *path = NULL, *pubkey = NULL;
    uint8_t pk[AUDIT_PK_LEN], pk_arg[AUDIT_PK_LEN];
    uint64_t upto = 0, n_records = 0, dropped = 0, first = 0;
    audit_verifier *v = NULL;
    audit_verify_result res;
    char q[300];
    FILE *f = NULL;
    int o, r, fd, has_pk = 0, created = 0, ret = CLI_ERR;

    while ((o = cli_getopt(ctx, argc, argv, archive_opts)) != -1) {
        switch (o) {
        case OPT_OUT:
            path = optarg;
            break;
        case OPT_UPTO:
            if (cli_parse_u64(optarg, &upto) < 0 || upto == 0)
                return cli_usage_err(ctx, "--upto takes a sequence number (1 or more)");
            break;
        case OPT_PUBKEY:
            pubkey = optarg;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if (!path || !path[0] || strcmp(path, "-") == 0)
        return cli_usage_err(ctx, "--out FILE is required (a new file: the archive is kept)");
    if (pubkey && audit_hex_decode(pubkey, strlen(pubkey), pk_arg, sizeof(pk_arg)) < 0)
        return cli_usage_err(ctx, "--pubkey takes 64 lower-case hex characters (as `teevault "
                                  "status` prints audit_pubkey)");
    cli_term_escape(q, sizeof(q), path, strlen(path));
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if (!upto) {
        Teevault__V1__AuditCheckpoint *head = NULL;
        Teevault__V1__Empty e = TEEVAULT__V1__EMPTY__INIT;
        if ((r = tv_call(ctx->client, TV_SVC_AUDIT, "Head", &e.base,
                         &teevault__v1__audit_checkpoint__descriptor, (ProtobufCMessage **)&head)) <
            0)
            return cli_fail(ctx, r);
        upto = head->last_seq;
        tv_msg_free(&head->base);
        if (!upto)
            return cli_errorf(ctx, "the audit log is empty: nothing to archive");
    }
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return cli_errorf(ctx, "cannot create %s: %s%s", q, strerror(errno),
                          errno == EEXIST ? " (an archive is never overwritten: name a new file)"
                                          : "");
    created = 1;
    if (!(f = fdopen(fd, "w"))) {
        close(fd);
        cli_errorf(ctx, "cannot write %s: %s", q, strerror(errno));
        goto out;
    }
    if (export_lines(ctx, f, 0, upto, &n_records, &has_pk, pk) != 0)
        goto out;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        cli_errorf(ctx, "cannot write %s: %s", q, strerror(errno));
        goto out;
    }
    fclose(f);
    f = NULL;
    if (!has_pk) {
        cli_errorf(ctx, "the vault has no audit key yet: its records cannot be archived");
        goto out;
    }
    if (pubkey && sodium_memcmp(pk, pk_arg, AUDIT_PK_LEN) != 0) {
        cli_errorf(ctx, "the vault's audit key is not the one given with --pubkey; nothing was "
                        "dropped");
        goto out;
    }
    /* Verify what is on disk, as an auditor will. */
    if (!(f = fopen(path, "r"))) {
        cli_errorf(ctx, "cannot read back %s: %s", q, strerror(errno));
        goto out;
    }
    if (audit_verifier_new(pk, &v) < 0) {
        cli_errorf(ctx, "out of memory");
        goto out;
    }
    r = verify_stream(v, f);
    fclose(f);
    f = NULL;
    if (r < 0) {
        cli_errorf(ctx, "cannot read back %s", q);
        goto out;
    }
    r = audit_verifier_finish(v, &res);
    if (r < 0 || res.last_seq != upto || res.covered_to != upto) {
        cli_errorf(ctx, "the archive %s does not verify (%s); nothing was dropped", q,
                   r < 0 ? res.why : "it does not end at the requested seq");
        ret = r < 0 ? cli_exit_code(r) : CLI_ERR;
        goto out;
    }
    /* The archive is good: the vault may drop what it holds. */
    created = 0;
    prq.upto = upto;
    prq.head_hash.data = res.last_hash;
    prq.head_hash.len = AUDIT_HASH_LEN;
    for (;;) {
        if ((r = tv_call(ctx->client, TV_SVC_AUDIT, "Prune", &prq.base,
                         &teevault__v1__audit_prune_response__descriptor,
                         (ProtobufCMessage **)&presp)) < 0) {
            fprintf(ctx->err,
                    "the archive %s is complete and verified; the vault kept its records\n", q);
            ret = cli_fail(ctx, r);
            goto out;
        }
        dropped += presp->dropped;
        first = presp->first_seq;
        int more = presp->dropped > 0 && first < upto;
        tv_msg_free(&presp->base);
        presp = NULL;
        if (!more)
            break;
    }
    cli_out_begin(ctx);
    cli_out_str(ctx, "archive", path);
    cli_out_u64(ctx, "records", n_records);
    cli_out_u64(ctx, "first_seq", res.first_seq);
    cli_out_u64(ctx, "last_seq", upto);
    cli_out_hex(ctx, "last_hash", res.last_hash, AUDIT_HASH_LEN);
    cli_out_u64(ctx, "dropped", dropped);
    cli_out_u64(ctx, "vault_first_seq", first);
    cli_out_str(ctx, "next",
                "keep the archive; `teevault audit verify ARCHIVE LIVE-EXPORT` checks "
                "it and the live log as one chain");
    cli_out_end(ctx);
    ret = first == upto ? CLI_OK : CLI_ERR;
    if (ret != CLI_OK)
        cli_errorf(ctx,
                   "the vault still holds records from seq %" PRIu64 "; run the same "
                   "command with a new --out to finish",
                   first);
out:
    if (f)
        fclose(f);
    if (created)
        unlink(path); /* never leave a partial or unverified archive behind */
    audit_verifier_free(v);
    return ret;
}

static int au_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *pubkey = NULL, *path;
    uint8_t pk[AUDIT_PK_LEN];
    audit_verifier *v = NULL;
    audit_verify_result res;
    FILE *f = NULL;
    int o, r;

    while ((o = cli_getopt(ctx, argc, argv, verify_opts)) != -1) {
        switch (o) {
        case OPT_PUBKEY:
            pubkey = optarg;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 64)) != CLI_CONTINUE)
        return r;
    if (pubkey && audit_hex_decode(pubkey, strlen(pubkey), pk, sizeof(pk)) < 0)
        return cli_usage_err(ctx, "--pubkey takes 64 lower-case hex characters (as `teevault "
                                  "status` prints audit_pubkey)");
    if (audit_verifier_new(pubkey ? pk : NULL, &v) < 0)
        return cli_errorf(ctx, "out of memory");
    /* Several files (archives oldest first, then the live export) are one
     * chain: each continues the previous one. */
    for (int i = optind; i < argc; i++) {
        path = argv[i];
        if (i > optind)
            audit_verifier_next_file(v);
        if (strcmp(path, "-") == 0) {
            f = stdin;
        } else if ((f = fopen(path, "r")) == NULL) {
            char q[300];
            audit_verifier_free(v);
            return cli_errorf(ctx, "cannot open %s: %s",
                              cli_term_escape(q, sizeof(q), path, strlen(path)), strerror(errno));
        }
        int read_err = verify_stream(v, f);
        if (f != stdin)
            fclose(f);
        if (read_err < 0) {
            audit_verifier_free(v);
            return cli_errorf(ctx, "reading the export failed");
        }
    }
    r = audit_verifier_finish(v, &res);
    audit_verifier_free(v);

    cli_out_begin(ctx);
    cli_out_str(ctx, "result", r == 0 ? "OK" : "FAIL");
    cli_out_u64(ctx, "records", res.records);
    cli_out_u64(ctx, "checkpoints", res.checkpoints);
    if (res.records) {
        cli_out_u64(ctx, "first_seq", res.first_seq);
        cli_out_u64(ctx, "last_seq", res.last_seq);
    }
    cli_out_u64(ctx, "verified_to", res.covered_to);
    if (r != 0) {
        cli_out_u64(ctx, "bad_seq", res.bad_seq);
        if (res.line)
            cli_out_u64(ctx, "line", res.line);
    }
    cli_out_str(ctx, "reason", res.why);
    if (res.pubkey_from_file)
        cli_out_str(ctx, "warning",
                    "the public key was taken from the export itself; pass --pubkey with the key "
                    "from the vault's attested report or `teevault status` to rule out a re-signed "
                    "log");
    cli_out_end(ctx);
    return r == 0 ? CLI_OK : cli_exit_code(r);
}

static const struct cli_cmd au_cmds[] = {
    {"list", au_list,
     "List audit records, oldest first (admin on sys/audit). --principal matches the recorded "
     "form exactly: user:NAME token:ID, token:ID, root-token:ID, function:NAME or anonymous; "
     "user:NAME alone selects every token of that user.",
     "audit list [--since SEQ] [--principal P] [--secret NAME] [--limit N]"},
    {"export", au_export,
     "Write the audit log as JSON lines to stdout, ending with a checkpoint signed now.",
     "audit export [--from SEQ] [--to SEQ]"},
    {"archive", au_archive,
     "Export the records up to SEQ (default: the head) into a new file, verify it, then let "
     "the vault drop them (admin and destroy on sys/audit); record SEQ stays as the live log's "
     "anchor, so the archive and later exports verify as one chain.",
     "audit archive --out FILE [--upto SEQ] [--pubkey KEY]"},
    {"verify", au_verify,
     "Check exports offline: every hash, every checkpoint signature, full coverage. Several "
     "files (archives oldest first, then a live export) are checked as one chain.",
     "audit verify FILE... [--pubkey KEY]"},
};

int cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, au_cmds, sizeof(au_cmds) / sizeof(au_cmds[0]), "audit", argc, argv);
}
