/* SPDX-License-Identifier: Apache-2.0 */
/* teevault function register | show | list | delete: service Functions
 * (function identities: who may attest as a function; see
 * vault/vault_functions.h for the identity policy document). */
#include "cli.h"

#include <string.h>

enum { OPT_POLICY_FILE = 0x2400, OPT_ACL };

#define MAX_ACL 32

static const struct option reg_opts[] = {
    {"policy", required_argument, NULL, OPT_POLICY_FILE},
    {"acl", required_argument, NULL, OPT_ACL},
    {0},
};

static int fn_register(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *pfile = NULL;
    char *acl[MAX_ACL];
    size_t nacl = 0, len = 0;
    char *doc = NULL;
    tv_function_info fi;
    int o, r, ret;

    while ((o = cli_getopt(ctx, argc, argv, reg_opts)) != -1) {
        switch (o) {
        case OPT_POLICY_FILE:
            pfile = optarg;
            break;
        case OPT_ACL:
            if (nacl == MAX_ACL)
                return cli_usage_err(ctx, "too many --acl options");
            acl[nacl++] = optarg;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    if (!pfile)
        return cli_usage_err(ctx, "--policy FILE is required");
    /* Not a secret, but the bounded reader is the one we have. */
    if (cli_read_secret_file(ctx, pfile, 64 * 1024, 0, &doc, &len) < 0)
        return CLI_ERR;
    if (strlen(doc) != len) {
        cli_secret_free(doc);
        return cli_errorf(ctx, "the policy file contains a NUL byte");
    }
    memset(&fi, 0, sizeof fi);
    fi.name = argv[optind];
    fi.policy = doc;
    fi.acl_policies = acl;
    fi.n_acl_policies = nacl;
    if ((ret = cli_connect(ctx, 1)) == 0) {
        if ((r = tv_function_write(ctx->client, &fi)) < 0) {
            ret = cli_fail(ctx, r);
        } else {
            cli_out_begin(ctx);
            cli_out_str(ctx, "registered", argv[optind]);
            cli_out_end(ctx);
        }
    }
    cli_secret_free(doc);
    return ret;
}

static void out_function(struct cli_ctx *ctx, const tv_function_info *f)
{
    cli_out_str(ctx, "name", f->name);
    cli_out_strv(ctx, "acl_policies", f->acl_policies, f->n_acl_policies);
    cli_out_time(ctx, "created_at", f->created_at);
    cli_out_str(ctx, "policy", f->policy);
}

static int fn_show(struct cli_ctx *ctx, int argc, char **argv)
{
    tv_function_info *f = NULL;
    int r;

    if ((r = cli_args(ctx, argc, argv, 1, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_function_show(ctx->client, argv[optind], &f)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    out_function(ctx, f);
    cli_out_end(ctx);
    tv_function_info_free(f);
    return CLI_OK;
}

static int fn_list(struct cli_ctx *ctx, int argc, char **argv)
{
    tv_function_info *fns = NULL;
    size_t n = 0;
    int r;

    if ((r = cli_args(ctx, argc, argv, 0, 0)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_function_list(ctx->client, &fns, &n)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_list_begin(ctx, "functions");
    for (size_t i = 0; i < n; i++)
        cli_out_list_str(ctx, fns[i].name);
    cli_out_list_end(ctx);
    cli_out_end(ctx);
    tv_function_list_free(fns, n);
    return CLI_OK;
}

static int fn_delete(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_delete_named(ctx, argc, argv, tv_function_delete);
}

static const struct cli_cmd fn_cmds[] = {
    {"register", fn_register,
     "Register (or replace) function NAME: --policy FILE is its identity policy (JSON: "
     "evidence_type; sgx: mrenclave, or mrsigner + isvprodid + min_svn; tdx: mrtd + rtmr "
     "and/or mrconfigid/mrowner; snp: measurement + host_data + id_key_digest + min_tcb "
     "[+ vmpl]; code_hash, or code_in_measurement: true; see docs/ATTESTATION.md); each --acl "
     "POLICY binds an ACL policy the caller holds or may grant (functions only get read). "
     "Live sessions of NAME end.",
     "function register NAME --policy FILE [--acl POLICY]..."},
    {"show", fn_show, "Show function NAME.", "function show NAME"},
    {"list", fn_list, "List function names.", "function list"},
    {"delete", fn_delete, "Delete function NAME (its live sessions end).", "function delete NAME"},
};

int cmd_function(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, fn_cmds, sizeof(fn_cmds) / sizeof(fn_cmds[0]), "function", argc, argv);
}
