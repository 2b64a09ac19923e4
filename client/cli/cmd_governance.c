/* SPDX-License-Identifier: Apache-2.0 */
/* teevault governance keygen | propose | show | sign | apply | list: dual
 * control over where plaintext flows (docs/POLICIES.md "Governance").
 * keygen and sign run offline (no connection): governance secret keys never
 * need to touch the vault host.
 *
 * Files: a public key file holds 64 hex digits; a secret key file (0600)
 * 128 hex digits (libsodium's Ed25519 secret key); a signature file one
 * line "<public key hex> <signature hex>". */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

enum {
    OPT_OUT = 0x2600,
    OPT_KEY,
    OPT_THRESHOLD,
    OPT_POLICY,
    OPT_ACL,
    OPT_DOC_OUT,
};

#define MAX_KEYS 16
#define MAX_ACL  32

/* Read a file of exactly 2*n hex digits (one optional trailing newline). */
static int read_hex_file(struct cli_ctx *ctx, const char *path, uint8_t *out, size_t n)
{
    char *txt = NULL;
    size_t len = 0, bl = 0;
    int r = -1;
    if (cli_read_secret_file(ctx, path, 4 * n + 16, 1, &txt, &len) < 0)
        return -1;
    if (len != 2 * n || sodium_hex2bin(out, n, txt, len, NULL, &bl, NULL) != 0 || bl != n)
        cli_errorf(ctx, "%s: expected %zu hex digits", path, 2 * n);
    else
        r = 0;
    cli_secret_free(txt);
    return r;
}

static int gv_keygen(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, OPT_OUT}, {0}};
    const char *prefix = NULL;
    uint8_t pk[32], *sk = NULL;
    char path[4096], pkhex[65], *skhex = NULL;
    int o, r, ret = CLI_ERR;
    while ((o = cli_getopt(ctx, argc, argv, opts)) != -1) {
        if (o == OPT_OUT)
            prefix = optarg;
        else if (o == 'h')
            return cli_usage(ctx, CLI_OK);
        else
            return CLI_USAGE;
    }
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if (!prefix)
        return cli_usage_err(ctx, "--out PREFIX is required (writes PREFIX.key and PREFIX.pub)");
    if (!(sk = sodium_malloc(64)) || !(skhex = sodium_malloc(130)))
        goto out;
    crypto_sign_keypair(pk, sk);
    sodium_bin2hex(skhex, 130, sk, 64);
    skhex[128] = '\n';
    snprintf(path, sizeof path, "%s.key", prefix);
    if (cli_write_private_file(ctx, path, skhex, 129, 0) < 0)
        goto out;
    sodium_bin2hex(pkhex, sizeof pkhex, pk, 32);
    snprintf(path, sizeof path, "%s.pub", prefix);
    FILE *f = fopen(path, "wx");
    if (!f || fprintf(f, "%s\n", pkhex) < 0 || fclose(f) != 0) {
        ret = cli_errorf(ctx, "cannot write %s", path);
        goto out;
    }
    cli_out_begin(ctx);
    cli_out_str(ctx, "public_key", pkhex);
    cli_out_str(ctx, "key_id", (pkhex[16] = 0, pkhex));
    cli_out_end(ctx);
    ret = CLI_OK;
out:
    sodium_free(sk);
    sodium_free(skhex);
    return ret;
}

static void out_pending(struct cli_ctx *ctx, const tv_gov_pending *p)
{
    cli_out_str(ctx, "id", p->id);
    cli_out_str(ctx, "kind", p->kind);
    cli_out_str(ctx, "proposer", p->proposer);
    cli_out_time(ctx, "created_at", p->created_at);
    cli_out_str(ctx, "document", p->document);
}

static int write_doc(struct cli_ctx *ctx, const char *path, const char *doc)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(doc, f) < 0 || fclose(f) != 0)
        return cli_errorf(ctx, "cannot write %s", path);
    return 0;
}

static int gv_propose(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, OPT_POLICY},
        {"acl", required_argument, NULL, OPT_ACL},
        {"key", required_argument, NULL, OPT_KEY},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"doc-out", required_argument, NULL, OPT_DOC_OUT},
        {0},
    };
    const char *pfile = NULL, *doc_out = NULL, *keyfiles[MAX_KEYS];
    char *acl[MAX_ACL], *doc = NULL;
    size_t nacl = 0, nkeys = 0, len = 0;
    uint8_t keys[MAX_KEYS][32];
    uint64_t k = 0;
    tv_gov_change ch;
    tv_gov_pending *p = NULL;
    int o, r, ret = CLI_ERR;

    while ((o = cli_getopt(ctx, argc, argv, opts)) != -1) {
        switch (o) {
        case OPT_POLICY:
            pfile = optarg;
            break;
        case OPT_ACL:
            if (nacl == MAX_ACL)
                return cli_usage_err(ctx, "too many --acl options");
            acl[nacl++] = optarg;
            break;
        case OPT_KEY:
            if (nkeys == MAX_KEYS)
                return cli_usage_err(ctx, "at most %d --key options", MAX_KEYS);
            keyfiles[nkeys++] = optarg;
            break;
        case OPT_THRESHOLD:
            if (cli_parse_u64(optarg, &k) < 0 || k < 1 || k > MAX_KEYS)
                return cli_usage_err(ctx, "--threshold must be 1..%d", MAX_KEYS);
            break;
        case OPT_DOC_OUT:
            doc_out = optarg;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 2)) != CLI_CONTINUE)
        return r;
    memset(&ch, 0, sizeof ch);
    ch.kind = argv[optind];
    if (!strcmp(ch.kind, "governance-set")) {
        if (!nkeys || !k)
            return cli_usage_err(ctx, "governance-set needs --key PUBFILE... and --threshold K");
        for (size_t i = 0; i < nkeys; i++)
            if (read_hex_file(ctx, keyfiles[i], keys[i], 32) < 0)
                return CLI_ERR;
        ch.keys = (const uint8_t(*)[32])keys;
        ch.n_keys = nkeys;
        ch.threshold = (uint32_t)k;
    } else {
        if (optind + 1 >= argc)
            return cli_usage_err(ctx, "%s needs a NAME", ch.kind);
        ch.name = argv[optind + 1];
        if (!strcmp(ch.kind, "function-write") || !strcmp(ch.kind, "policy-write")) {
            if (!pfile)
                return cli_usage_err(ctx, "%s needs --policy FILE", ch.kind);
            if (cli_read_secret_file(ctx, pfile, 64 * 1024, 0, &doc, &len) < 0)
                return CLI_ERR;
            if (strlen(doc) != len) {
                cli_secret_free(doc);
                return cli_errorf(ctx, "%s contains a NUL byte", pfile);
            }
            ch.document = doc;
        }
        ch.acl = acl;
        ch.n_acl = nacl;
    }
    if ((ret = cli_connect(ctx, 1)) != 0)
        goto out;
    if ((r = tv_governance_propose(ctx->client, &ch, &p)) < 0) {
        ret = cli_fail(ctx, r);
        goto out;
    }
    if (doc_out && write_doc(ctx, doc_out, p->document) != 0) {
        ret = CLI_ERR;
        goto out;
    }
    cli_out_begin(ctx);
    out_pending(ctx, p);
    cli_out_end(ctx);
    ret = CLI_OK;
out:
    tv_gov_pending_free(p);
    cli_secret_free(doc);
    return ret;
}

static int gv_show(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"doc-out", required_argument, NULL, OPT_DOC_OUT}, {0}};
    const char *doc_out = NULL;
    tv_gov_pending *p = NULL;
    int o, r;
    while ((o = cli_getopt(ctx, argc, argv, opts)) != -1) {
        if (o == OPT_DOC_OUT)
            doc_out = optarg;
        else if (o == 'h')
            return cli_usage(ctx, CLI_OK);
        else
            return CLI_USAGE;
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_governance_show(ctx->client, argv[optind], &p)) < 0)
        return cli_fail(ctx, r);
    if (doc_out && write_doc(ctx, doc_out, p->document) != 0) {
        tv_gov_pending_free(p);
        return CLI_ERR;
    }
    cli_out_begin(ctx);
    out_pending(ctx, p);
    cli_out_end(ctx);
    tv_gov_pending_free(p);
    return CLI_OK;
}

/* Offline. */
static int gv_sign(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, OPT_KEY},
        {"out", required_argument, NULL, OPT_OUT},
        {0},
    };
    const char *keyfile = NULL, *outfile = NULL;
    uint8_t *sk = NULL, sig[64], pk[32];
    char *doc = NULL, line[64 + 1 + 128 + 2];
    size_t len = 0;
    int o, r, ret = CLI_ERR;
    while ((o = cli_getopt(ctx, argc, argv, opts)) != -1) {
        if (o == OPT_KEY)
            keyfile = optarg;
        else if (o == OPT_OUT)
            outfile = optarg;
        else if (o == 'h')
            return cli_usage(ctx, CLI_OK);
        else
            return CLI_USAGE;
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    if (!keyfile)
        return cli_usage_err(ctx, "--key SECRET_KEY_FILE is required");
    if (!(sk = sodium_malloc(64)))
        return cli_errorf(ctx, "out of memory");
    if (read_hex_file(ctx, keyfile, sk, 64) < 0)
        goto out;
    if (cli_read_secret_file(ctx, argv[optind], 128 * 1024, 0, &doc, &len) < 0)
        goto out;
    if (strncmp(doc, "teevault governance change v1\n", 30) != 0) {
        ret = cli_errorf(ctx, "%s is not a governance change document", argv[optind]);
        goto out;
    }
    if ((r = tv_governance_sign(sk, doc, len, sig)) < 0) {
        ret = cli_errorf(ctx, "cannot sign: %s", tv_strerror(r));
        goto out;
    }
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    sodium_bin2hex(line, 65, pk, 32);
    line[64] = ' ';
    sodium_bin2hex(line + 65, 129, sig, 64);
    line[193] = '\n';
    line[194] = 0;
    if (outfile) {
        FILE *f = fopen(outfile, "w");
        if (!f || fputs(line, f) < 0 || fclose(f) != 0) {
            ret = cli_errorf(ctx, "cannot write %s", outfile);
            goto out;
        }
    } else {
        fputs(line, stdout);
    }
    ret = CLI_OK;
out:
    sodium_free(sk);
    cli_secret_free(doc);
    return ret;
}

static int gv_apply(struct cli_ctx *ctx, int argc, char **argv)
{
    uint8_t pks[MAX_KEYS][32], sigs[MAX_KEYS][64];
    size_t n = 0;
    int r;
    if ((r = cli_args(ctx, argc, argv, 1, 1 + MAX_KEYS)) != CLI_CONTINUE)
        return r;
    for (int i = optind + 1; i < argc; i++) {
        char *txt = NULL;
        size_t len = 0, b1 = 0, b2 = 0;
        if (cli_read_secret_file(ctx, argv[i], 512, 1, &txt, &len) < 0)
            return CLI_ERR;
        int ok = len == 193 && txt[64] == ' ' &&
                 sodium_hex2bin(pks[n], 32, txt, 64, NULL, &b1, NULL) == 0 && b1 == 32 &&
                 sodium_hex2bin(sigs[n], 64, txt + 65, 128, NULL, &b2, NULL) == 0 && b2 == 64;
        cli_secret_free(txt);
        if (!ok)
            return cli_errorf(
                ctx, "%s: not a signature file (\"<public key hex> <signature hex>\")", argv[i]);
        n++;
    }
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_governance_apply(ctx->client, argv[optind], (const uint8_t(*)[32])pks,
                                 (const uint8_t(*)[64])sigs, n)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_str(ctx, "applied", argv[optind]);
    cli_out_end(ctx);
    return CLI_OK;
}

static int gv_list(struct cli_ctx *ctx, int argc, char **argv)
{
    tv_gov_pending *v = NULL;
    size_t n = 0, nk = 0;
    uint32_t k = 0;
    int q = 0, r;
    if ((r = cli_args(ctx, argc, argv, 0, 0)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_governance_list(ctx->client, &v, &n, &nk, &k, &q)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_u64(ctx, "keys", nk);
    cli_out_u64(ctx, "threshold", k);
    cli_out_bool(ctx, "quorum_required", q);
    cli_out_list_begin(ctx, "pending");
    for (size_t i = 0; i < n; i++) {
        char line[128];
        snprintf(line, sizeof line, "%s %s by %s", v[i].id, v[i].kind, v[i].proposer);
        cli_out_list_str(ctx, line);
    }
    cli_out_list_end(ctx);
    cli_out_end(ctx);
    tv_gov_pending_list_free(v, n);
    return CLI_OK;
}

static const struct cli_cmd gv_cmds[] = {
    {"keygen", gv_keygen,
     "Make an Ed25519 governance key pair offline: PREFIX.key (secret, 0600) and PREFIX.pub.",
     "governance keygen --out PREFIX"},
    {"propose", gv_propose,
     "Propose a change that decides who can receive plaintext: function-write NAME --policy "
     "FILE [--acl POLICY]..., function-delete NAME, policy-write NAME --policy FILE, "
     "policy-delete NAME, governance-set --key PUBFILE... --threshold K. Prints the change id "
     "and the document to sign (--doc-out FILE writes it exactly).",
     "governance propose KIND [NAME] [--policy FILE] [--acl P]... [--key PUBFILE]... "
     "[--threshold K] [--doc-out FILE]"},
    {"show", gv_show, "Show a pending change and its canonical document (--doc-out FILE).",
     "governance show ID [--doc-out FILE]"},
    {"sign", gv_sign,
     "Sign a change document offline with a governance secret key file; writes "
     "\"<public key> <signature>\" (no connection is made).",
     "governance sign --key KEYFILE DOCFILE [--out SIGFILE]"},
    {"apply", gv_apply,
     "Apply a pending change with k signature files of distinct governance keys.",
     "governance apply ID SIGFILE..."},
    {"list", gv_list, "List pending changes and the governance set's size and threshold.",
     "governance list"},
};

int cmd_governance(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, gv_cmds, sizeof(gv_cmds) / sizeof(gv_cmds[0]), "governance", argc,
                        argv);
}
