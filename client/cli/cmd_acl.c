/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault acl explain [--function NAME | --user NAME | --token ID] SECRET
 *                      [--capability CAP]
 *
 * Asks the vault (Policies.Explain) whether a principal may use CAP (default
 * read) on SECRET, and why: allowed or denied, the deciding policy and rule
 * (its path glob), and a sentence. Without a principal option the question
 * is about the caller's own token. Exit 0 when the question was answered,
 * whatever the answer: a script tests `allowed` in the output (--format=json)
 * rather than the exit status, which stays 1 for errors (unknown principal,
 * not allowed to ask, transport).
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

enum { OPT_FUNCTION = 0x100, OPT_USER, OPT_TOKEN, OPT_CAP };

static const struct option explain_opts[] = {
    {"function", required_argument, NULL, OPT_FUNCTION},
    {"user", required_argument, NULL, OPT_USER},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"capability", required_argument, NULL, OPT_CAP},
    {NULL, 0, NULL, 0},
};

static int acl_explain(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *kind = NULL, *who = NULL, *cap = "read";
    tv_explain *e = NULL;
    int o, r;

    while ((o = cli_getopt(ctx, argc, argv, explain_opts)) != -1) {
        switch (o) {
        case OPT_FUNCTION:
        case OPT_USER:
        case OPT_TOKEN:
            if (kind)
                return cli_usage_err(ctx, "give at most one of --function, --user, --token");
            kind = o == OPT_FUNCTION ? "function" : o == OPT_USER ? "user" : "token";
            who = optarg;
            if (!who[0])
                return cli_usage_err(ctx, "--%s needs a name", kind);
            break;
        case OPT_CAP:
            cap = optarg;
            if (!cap[0])
                return cli_usage_err(ctx, "--capability needs a capability (read, list, ...)");
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_policy_explain(ctx->client, kind ? kind : "", who ? who : "", argv[optind], cap,
                               &e)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_str(ctx, "decision", e->allowed ? "allowed" : "denied");
    cli_out_bool(ctx, "allowed", e->allowed);
    cli_out_str(ctx, "principal_kind", kind ? kind : "token (caller)");
    if (who)
        cli_out_str(ctx, "principal", who);
    cli_out_str(ctx, "secret", argv[optind]);
    cli_out_str(ctx, "capability", cap);
    cli_out_str(ctx, "policy", e->policy && e->policy[0] ? e->policy : "-");
    cli_out_str(ctx, "rule", e->rule && e->rule[0] ? e->rule : "-");
    cli_out_str(ctx, "reason", e->reason ? e->reason : "");
    cli_out_end(ctx);
    tv_explain_free(e);
    return CLI_OK;
}

static const struct cli_cmd acl_cmds[] = {
    {"explain", acl_explain,
     "Say whether a principal may use a capability on SECRET, and which policy and rule "
     "decide it.\n"
     "  --function NAME | --user NAME | --token ID   the principal (default: your own token)\n"
     "  --capability CAP                             read (default), list, create, update, "
     "delete, ...",
     "acl explain [--function NAME | --user NAME | --token ID] SECRET [--capability CAP]"},
};

int cmd_acl(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, acl_cmds, sizeof(acl_cmds) / sizeof(acl_cmds[0]), "acl", argc, argv);
}
