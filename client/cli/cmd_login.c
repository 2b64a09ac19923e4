/* teevault login: Auth.Login, user + password for a token. */
#include "cli.h"

#include <string.h>

enum { OPT_USER = 0x2100, OPT_PASSFILE, OPT_TOKEN_OUT, OPT_FORCE };

static const struct option login_opts[] = {
    {"user", required_argument, NULL, OPT_USER},
    {"password-file", required_argument, NULL, OPT_PASSFILE},
    {"token-out", required_argument, NULL, OPT_TOKEN_OUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {0},
};

void cli_print_token_info(struct cli_ctx *ctx, const tv_token_info *ti)
{
    cli_out_str(ctx, "token_id", ti->token_id);
    cli_out_str(ctx, "display_name", ti->display_name);
    cli_out_str(ctx, "user", ti->user);
    cli_out_str(ctx, "parent", ti->parent ? ti->parent : "");
    cli_out_bool(ctx, "root", ti->root);
    cli_out_strv(ctx, "policies", ti->policies, ti->n_policies);
    cli_out_time(ctx, "created_at", ti->created_at);
    cli_out_time(ctx, "expires_at", ti->expires_at);
}

int cli_emit_token(struct cli_ctx *ctx, char *token, const tv_token_info *ti, const char *token_out,
                   int force)
{
    if (token_out) {
        size_t n = strlen(token);
        int r;
        token[n] = '\n'; /* tv secret allocations have a spare byte at [len] */
        r = cli_write_private_file(ctx, token_out, token, n + 1, force);
        token[n] = 0;
        if (r < 0)
            return CLI_ERR;
    }
    cli_out_begin(ctx);
    if (token_out)
        cli_out_str(ctx, "token_file", token_out);
    else
        cli_out_str(ctx, "token", token);
    if (ti)
        cli_print_token_info(ctx, ti);
    cli_out_end(ctx);
    return CLI_OK;
}

int cmd_login(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *user = NULL, *passfile = NULL, *token_out = NULL;
    char *pass = NULL, *token = NULL;
    tv_token_info *ti = NULL;
    size_t plen = 0;
    int o, r, force = 0, ret = CLI_ERR;

    while ((o = cli_getopt(ctx, argc, argv, login_opts)) != -1) {
        switch (o) {
        case OPT_USER:
            user = optarg;
            break;
        case OPT_PASSFILE:
            passfile = optarg;
            break;
        case OPT_TOKEN_OUT:
            token_out = optarg;
            break;
        case OPT_FORCE:
            force = 1;
            break;
        case 'h':
            fprintf(ctx->out,
                    "Usage: %s login [USER] [--user=USER] [--password-file=FILE]\n"
                    "                [--token-out=FILE [--force]]\n\n"
                    "Trade a user name and password for a token. The password is prompted\n"
                    "with echo off, or read from --password-file ('-' = stdin); it is never\n"
                    "taken from the command line. The token is printed, or written to\n"
                    "--token-out with mode 0600 (use it with --token-file or TEEVAULT_TOKEN).\n",
                    ctx->prog);
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 1)) != CLI_CONTINUE)
        return r;
    if (optind < argc) {
        if (user)
            return cli_usage_err(ctx, "give the user once");
        user = argv[optind];
    }
    if (!user || !user[0])
        return cli_usage_err(ctx, "missing user name");
    if (passfile) {
        if (cli_read_secret_file(ctx, passfile, 4096, 1, &pass, &plen) < 0)
            return CLI_ERR;
    } else if (cli_prompt_secret(ctx, "Password: ", 0, &pass) < 0) {
        return CLI_ERR;
    }
    if ((ret = cli_connect(ctx, 0)) != 0)
        goto out;
    if ((r = tv_auth_login(ctx->client, user, pass, &token, &ti)) < 0) {
        ret = cli_fail(ctx, r);
        goto out;
    }
    ret = cli_emit_token(ctx, token, ti, token_out, force);
out:
    cli_secret_free(pass);
    tv_free_secret(token);
    tv_token_info_free(ti);
    return ret;
}
