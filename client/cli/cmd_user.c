/* SPDX-License-Identifier: Apache-2.0 */
/* teevault user add | passwd | delete | list: Auth.User*. */
#include "cli.h"

enum { OPT_POLICY = 0x2300, OPT_PASSFILE };

#define MAX_POLICIES 64

static const struct option add_opts[] = {
    {"policy", required_argument, NULL, OPT_POLICY},
    {"password-file", required_argument, NULL, OPT_PASSFILE},
    {0},
};

static int get_password(struct cli_ctx *ctx, const char *passfile, char **pass)
{
    size_t n = 0;
    if (passfile)
        return cli_read_secret_file(ctx, passfile, 4096, 1, pass, &n);
    return cli_prompt_secret(ctx, "New password: ", 1, pass);
}

static int user_add(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *policies[MAX_POLICIES];
    size_t np = 0;
    const char *passfile = NULL;
    char *pass = NULL;
    int o, r, ret;

    while ((o = cli_getopt(ctx, argc, argv, add_opts)) != -1) {
        switch (o) {
        case OPT_POLICY:
            if (np == MAX_POLICIES)
                return cli_usage_err(ctx, "too many --policy options");
            policies[np++] = optarg;
            break;
        case OPT_PASSFILE:
            passfile = optarg;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    if (get_password(ctx, passfile, &pass) < 0)
        return CLI_ERR;
    if ((ret = cli_connect(ctx, 1)) == 0) {
        if ((r = tv_user_add(ctx->client, argv[optind], pass, policies, np)) < 0) {
            ret = cli_fail(ctx, r);
        } else {
            cli_out_begin(ctx);
            cli_out_str(ctx, "added", argv[optind]);
            cli_out_end(ctx);
        }
    }
    cli_secret_free(pass);
    return ret;
}

static const struct option passwd_opts[] = {
    {"password-file", required_argument, NULL, OPT_PASSFILE},
    {0},
};

static int user_passwd(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *passfile = NULL;
    char *pass = NULL;
    int o, r, ret;

    while ((o = cli_getopt(ctx, argc, argv, passwd_opts)) != -1) {
        switch (o) {
        case OPT_PASSFILE:
            passfile = optarg;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    if (get_password(ctx, passfile, &pass) < 0)
        return CLI_ERR;
    if ((ret = cli_connect(ctx, 1)) == 0) {
        if ((r = tv_user_passwd(ctx->client, argv[optind], pass)) < 0) {
            ret = cli_fail(ctx, r);
        } else {
            cli_out_begin(ctx);
            cli_out_str(ctx, "password_changed", argv[optind]);
            cli_out_end(ctx);
        }
    }
    cli_secret_free(pass);
    return ret;
}

static int user_delete(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_delete_named(ctx, argc, argv, tv_user_delete);
}

static int user_list(struct cli_ctx *ctx, int argc, char **argv)
{
    tv_user_info *u = NULL;
    size_t n = 0;
    int r;

    if ((r = cli_args(ctx, argc, argv, 0, 0)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_user_list(ctx->client, &u, &n)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_list_begin(ctx, "users");
    for (size_t i = 0; i < n; i++) {
        cli_out_item_begin(ctx);
        cli_out_str(ctx, "name", u[i].name);
        cli_out_strv(ctx, "policies", u[i].policies, u[i].n_policies);
        cli_out_time(ctx, "created_at", u[i].created_at);
        cli_out_item_end(ctx);
    }
    cli_out_list_end(ctx);
    cli_out_end(ctx);
    tv_user_list_free(u, n);
    return CLI_OK;
}

static const struct cli_cmd user_cmds[] = {
    {"add", user_add,
     "Add an operator user. The password is prompted twice with echo off, or read\n"
     "from --password-file ('-' = stdin); never from the command line.\n"
     "  --policy=NAME  bind an ACL policy (repeatable)",
     "user add NAME [--policy=NAME]... [--password-file=FILE]"},
    {"passwd", user_passwd, "Change a user's password (prompt or --password-file).",
     "user passwd NAME [--password-file=FILE]"},
    {"delete", user_delete, "Delete a user.", "user delete NAME"},
    {"list", user_list, "List users and their policies.", "user list"},
};

int cmd_user(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, user_cmds, sizeof(user_cmds) / sizeof(user_cmds[0]), "user", argc,
                        argv);
}
