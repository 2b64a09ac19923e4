/* SPDX-License-Identifier: Apache-2.0 */
/* teevault login: Auth.Login, user + password for a token. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

enum { OPT_USER = 0x2100, OPT_PASSFILE, OPT_TOKEN_OUT, OPT_FORCE, OPT_NO_STORE };

static const struct option login_opts[] = {
    {"user", required_argument, NULL, OPT_USER},
    {"password-file", required_argument, NULL, OPT_PASSFILE},
    {"token-out", required_argument, NULL, OPT_TOKEN_OUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {"no-store", no_argument, NULL, OPT_NO_STORE},
    {0},
};

/* Keep the token where later commands find it (cli_token_path; like
 * ~/.vault-token): directory 0700, file 0600, replaced atomically. */
static int store_token(struct cli_ctx *ctx, const char *token, char *path, size_t pathlen)
{
    char tmp[4200], q[300];
    char *slash;
    int r;

    if (cli_token_path(path, pathlen) < 0)
        return cli_errorf(ctx, "cannot place the token file: set HOME or TEEVAULT_CONFIG_DIR, "
                               "or use --token-out=FILE"),
               -1;
    /* Create the directory (and, under $HOME, .config) with mode 0700. */
    if ((slash = strrchr(path, '/')) && slash != path) {
        *slash = 0;
        for (char *p = path + 1; *p; p++) {
            if (*p != '/')
                continue;
            *p = 0;
            (void)mkdir(path, 0700);
            *p = '/';
        }
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            int e = errno;
            cli_errorf(ctx, "cannot create %s: %s",
                       cli_term_escape(q, sizeof(q), path, strlen(path)), strerror(e));
            *slash = '/';
            return -1;
        }
        *slash = '/';
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return cli_errorf(ctx, "token path too long"), -1;
    (void)unlink(tmp);
    size_t n = strlen(token);
    char *line = malloc(n + 1);
    if (!line)
        return cli_errorf(ctx, "out of memory"), -1;
    memcpy(line, token, n);
    line[n] = '\n';
    r = cli_write_private_file(ctx, tmp, line, n + 1, 0);
    sodium_memzero(line, n + 1);
    free(line);
    if (r < 0)
        return -1;
    if (rename(tmp, path) < 0) {
        int e = errno;
        (void)unlink(tmp);
        return cli_errorf(ctx, "cannot replace %s: %s",
                          cli_term_escape(q, sizeof(q), path, strlen(path)), strerror(e)),
               -1;
    }
    return 0;
}

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
    int o, r, force = 0, no_store = 0, ret = CLI_ERR;
    char stored[4096];

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
        case OPT_NO_STORE:
            no_store = 1;
            break;
        case 'h':
            fprintf(ctx->out,
                    "Usage: %s login [USER] [--user=USER] [--password-file=FILE]\n"
                    "                [--token-out=FILE [--force] | --no-store]\n\n"
                    "Trade a user name and password for a token. The password is prompted\n"
                    "with echo off, or read from --password-file ('-' = stdin); it is never\n"
                    "taken from the command line. The token is kept (mode 0600) in\n"
                    "~/.config/teevault/token ($XDG_CONFIG_HOME/teevault/token,\n"
                    "$TEEVAULT_CONFIG_DIR/token), where later commands find it when no\n"
                    "--token-file, TEEVAULT_TOKEN_FILE or TEEVAULT_TOKEN is given; or written\n"
                    "to --token-out=FILE; --no-store prints it instead.\n",
                    ctx->prog);
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 1)) != CLI_CONTINUE)
        return r;
    if (no_store && token_out)
        return cli_usage_err(ctx, "--no-store and --token-out exclude each other");
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
    if (!token_out && !no_store) {
        if (store_token(ctx, token, stored, sizeof(stored)) < 0) {
            fprintf(ctx->err, "%s: the token is printed below instead\n", ctx->prog);
        } else {
            cli_out_begin(ctx);
            cli_out_str(ctx, "token_stored", stored);
            cli_print_token_info(ctx, ti);
            cli_out_end(ctx);
            ret = CLI_OK;
            goto out;
        }
    }
    ret = cli_emit_token(ctx, token, ti, token_out, force);
out:
    cli_secret_free(pass);
    tv_free_secret(token);
    tv_token_info_free(ti);
    return ret;
}
