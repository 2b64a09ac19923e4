/* SPDX-License-Identifier: Apache-2.0 */
/* teevault policy write | read | list | delete: service Policies. */
#include "cli.h"

#include <string.h>

#include <sodium.h>

static int pol_write(struct cli_ctx *ctx, int argc, char **argv)
{
    char *doc = NULL;
    size_t len = 0;
    int r, ret;

    if ((r = cli_args(ctx, argc, argv, 2, 2)) != CLI_CONTINUE)
        return r;
    /* Not a secret, but the bounded reader is the one we have. */
    if (cli_read_secret_file(ctx, argv[optind + 1], 1024 * 1024, 0, &doc, &len) < 0)
        return CLI_ERR;
    if (strlen(doc) != len) {
        cli_secret_free(doc);
        return cli_errorf(ctx, "the policy file contains a NUL byte");
    }
    if ((ret = cli_connect(ctx, 1)) == 0) {
        if ((r = tv_policy_write(ctx->client, argv[optind], doc)) < 0) {
            ret = cli_fail(ctx, r);
        } else {
            cli_out_begin(ctx);
            cli_out_str(ctx, "written", argv[optind]);
            cli_out_end(ctx);
        }
    }
    cli_secret_free(doc);
    return ret;
}

static int pol_read(struct cli_ctx *ctx, int argc, char **argv)
{
    char *doc = NULL;
    int r;

    if ((r = cli_args(ctx, argc, argv, 1, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_policy_read(ctx->client, argv[optind], &doc)) < 0)
        return cli_fail(ctx, r);
    if (ctx->format == CLI_FMT_JSON) {
        cli_out_begin(ctx);
        cli_out_str(ctx, "name", argv[optind]);
        cli_out_str(ctx, "document", doc);
        cli_out_end(ctx);
    } else {
        /* The document is multi-line text: print it with control characters
         * other than newline and tab escaped. */
        for (const char *p = doc; *p; p++) {
            if (*p == '\n' || *p == '\t') {
                fputc(*p, ctx->out);
            } else {
                char b[8];
                fputs(cli_term_escape(b, sizeof(b), p, 1), ctx->out);
            }
        }
        if (doc[0] && doc[strlen(doc) - 1] != '\n')
            fputc('\n', ctx->out);
    }
    tv_free(doc);
    return CLI_OK;
}

static int pol_list(struct cli_ctx *ctx, int argc, char **argv)
{
    char **names = NULL;
    size_t n = 0;
    int r;

    if ((r = cli_args(ctx, argc, argv, 0, 0)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_policy_list(ctx->client, &names, &n)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_list_begin(ctx, "policies");
    for (size_t i = 0; i < n; i++)
        cli_out_list_str(ctx, names[i]);
    cli_out_list_end(ctx);
    cli_out_end(ctx);
    tv_strv_free(names, n);
    return CLI_OK;
}

static int pol_delete(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_delete_named(ctx, argc, argv, tv_policy_delete);
}

static const struct cli_cmd pol_cmds[] = {
    {"write", pol_write,
     "Create or replace policy NAME from FILE ('-' = stdin); see docs/POLICIES.md.",
     "policy write NAME FILE"},
    {"read", pol_read, "Print policy NAME's document.", "policy read NAME"},
    {"list", pol_list, "List policy names.", "policy list"},
    {"delete", pol_delete, "Delete policy NAME.", "policy delete NAME"},
};

int cmd_policy(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, pol_cmds, sizeof(pol_cmds) / sizeof(pol_cmds[0]), "policy", argc,
                        argv);
}
