/* SPDX-License-Identifier: Apache-2.0 */
/* teevault token create | revoke | lookup: Auth.TokenCreate/TokenRevoke/TokenLookup. */
#include "cli.h"

#include <string.h>

enum { OPT_POLICY = 0x2200, OPT_TTL, OPT_NAME, OPT_TOKEN_OUT, OPT_FORCE, OPT_SELF };

#define MAX_POLICIES 64

static const struct option create_opts[] = {
    {"policy", required_argument, NULL, OPT_POLICY},
    {"ttl", required_argument, NULL, OPT_TTL},
    {"display-name", required_argument, NULL, OPT_NAME},
    {"token-out", required_argument, NULL, OPT_TOKEN_OUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {0},
};

static int tok_create(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *policies[MAX_POLICIES];
    size_t np = 0;
    int64_t ttl = 0;
    const char *name = NULL, *token_out = NULL;
    char *token = NULL;
    tv_token_info *ti = NULL;
    int o, r, force = 0;

    while ((o = cli_getopt(ctx, argc, argv, create_opts)) != -1) {
        switch (o) {
        case OPT_POLICY:
            if (np == MAX_POLICIES)
                return cli_usage_err(ctx, "too many --policy options");
            policies[np++] = optarg;
            break;
        case OPT_TTL:
            if (cli_parse_duration(optarg, &ttl) < 0)
                return cli_usage_err(ctx, "--ttl takes seconds or a number with s, m, h or d");
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_TOKEN_OUT:
            token_out = optarg;
            break;
        case OPT_FORCE:
            force = 1;
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
    if ((r = tv_token_create(ctx->client, policies, np, ttl, name, &token, &ti)) < 0)
        return cli_fail(ctx, r);
    r = cli_emit_token(ctx, token, ti, token_out, force);
    tv_free_secret(token);
    tv_token_info_free(ti);
    return r;
}

static const struct option revoke_opts[] = {
    {"self", no_argument, NULL, OPT_SELF},
    {0},
};

static int tok_revoke(struct cli_ctx *ctx, int argc, char **argv)
{
    int o, r, self = 0;

    while ((o = cli_getopt(ctx, argc, argv, revoke_opts)) != -1) {
        switch (o) {
        case OPT_SELF:
            self = 1;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    /* Exactly one of TOKEN_ID and --self: revoking one's own token by
     * forgetting the argument would be a nasty surprise. */
    if ((r = cli_check_args(ctx, argc, self ? 0 : 1, self ? 0 : 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_token_revoke(ctx->client, self ? NULL : argv[optind])) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_str(ctx, "revoked", self ? "self" : argv[optind]);
    cli_out_end(ctx);
    return CLI_OK;
}

static int tok_lookup(struct cli_ctx *ctx, int argc, char **argv)
{
    tv_token_info *ti = NULL;
    int r;

    if ((r = cli_args(ctx, argc, argv, 0, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_token_lookup(ctx->client, optind < argc ? argv[optind] : NULL, &ti)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_print_token_info(ctx, ti);
    cli_out_end(ctx);
    tv_token_info_free(ti);
    return CLI_OK;
}

static const struct cli_cmd tok_cmds[] = {
    {"create", tok_create,
     "Create a token (printed once, or written to --token-out with mode 0600).\n"
     "  --policy=NAME        bind an ACL policy (repeatable)\n"
     "  --ttl=DURATION       lifetime: seconds, or 30m, 12h, 7d (default: server's)\n"
     "  --display-name=NAME  a label shown by lookup",
     "token create [--policy=NAME]... [--ttl=DURATION] [--display-name=NAME]\n"
     "                      [--token-out=FILE [--force]]"},
    {"revoke", tok_revoke,
     "Revoke the token with the given id (see `token lookup`), or with --self the\n"
     "token this command runs with.",
     "token revoke TOKEN_ID | --self"},
    {"lookup", tok_lookup,
     "Show a token's id, policies and expiry (the caller's own token without TOKEN_ID).",
     "token lookup [TOKEN_ID]"},
};

int cmd_token(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, tok_cmds, sizeof(tok_cmds) / sizeof(tok_cmds[0]), "token", argc, argv);
}
