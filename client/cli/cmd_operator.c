/* teevault operator init | recover: Sys.Initialize and Sys.Recover. */
#include "cli.h"

#include <string.h>
#include <unistd.h>

enum { OPT_PASSFILE = 0x2000, OPT_TOKEN_OUT, OPT_FORCE };

static const struct option init_opts[] = {
    {"passphrase-file", required_argument, NULL, OPT_PASSFILE},
    {"token-out", required_argument, NULL, OPT_TOKEN_OUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {0},
};

static int op_init(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *passfile = NULL, *token_out = NULL;
    char *pass = NULL, *root = NULL, *gen = NULL;
    size_t plen = 0;
    int o, r, force = 0, ret = CLI_ERR;

    while ((o = cli_getopt(ctx, argc, argv, init_opts)) != -1) {
        switch (o) {
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
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if (passfile && cli_read_secret_file(ctx, passfile, 4096, 1, &pass, &plen) < 0)
        return CLI_ERR;
    if (pass && plen < 12) {
        ret = cli_errorf(ctx, "the recovery passphrase must have at least 12 characters");
        goto out;
    }
    if ((ret = cli_connect(ctx, 0)) != 0)
        goto out;
    ret = CLI_ERR;
    if ((r = tv_sys_init(ctx->client, pass, &root, &gen)) < 0) {
        ret = cli_fail(ctx, r);
        goto out;
    }
    if (token_out) {
        size_t n = strlen(root);
        root[n] = '\n'; /* tv secret allocations have a spare byte at [len] */
        r = cli_write_private_file(ctx, token_out, root, n + 1, force);
        root[n] = 0;
        if (r < 0) {
            /* The vault is initialised: the token must not be lost. */
            fprintf(ctx->err, "%s: the root token is printed below instead\n", ctx->prog);
            token_out = NULL;
        }
    }
    cli_out_begin(ctx);
    if (!token_out)
        cli_out_str(ctx, "root_token", root);
    else
        cli_out_str(ctx, "root_token_file", token_out);
    if (gen)
        cli_out_str(ctx, "recovery_passphrase", gen);
    cli_out_end(ctx);
    if (gen && ctx->format == CLI_FMT_TABLE)
        fprintf(ctx->err, "\nThe recovery passphrase is shown only this once. Store it offline:\n"
                          "it is the only way to recover the vault on another enclave.\n");
    ret = CLI_OK;
out:
    cli_secret_free(pass);
    tv_free_secret(root);
    tv_free_secret(gen);
    return ret;
}

static const struct option recover_opts[] = {
    {"passphrase-file", required_argument, NULL, OPT_PASSFILE},
    {0},
};

static int op_recover(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *passfile = NULL;
    char *pass = NULL;
    size_t plen = 0;
    int o, r, ret = CLI_ERR;

    while ((o = cli_getopt(ctx, argc, argv, recover_opts)) != -1) {
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
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if (passfile) {
        if (cli_read_secret_file(ctx, passfile, 4096, 1, &pass, &plen) < 0)
            return CLI_ERR;
    } else if (cli_prompt_secret(ctx, "Recovery passphrase: ", 0, &pass) < 0) {
        return CLI_ERR;
    }
    /* A token when one is given: an active vault needs an admin's. */
    if ((ret = cli_connect(ctx, CLI_TOKEN_OPTIONAL)) != 0)
        goto out;
    if ((r = tv_sys_recover(ctx->client, pass)) < 0) {
        ret = cli_fail(ctx, r);
        goto out;
    }
    cli_out_begin(ctx);
    cli_out_str(ctx, "result", "recovered: the root key is sealed to this enclave");
    cli_out_end(ctx);
    ret = CLI_OK;
out:
    cli_secret_free(pass);
    return ret;
}

static const struct cli_cmd op_cmds[] = {
    {"init", op_init,
     "Initialise an empty vault. Prints the root token and, unless\n"
     "--passphrase-file gives one, the generated recovery passphrase (once).\n"
     "  --passphrase-file=FILE  recovery passphrase from FILE ('-' = stdin)\n"
     "  --token-out=FILE        write the root token to FILE (mode 0600) instead\n"
     "  --force                 overwrite FILE if it exists",
     "operator init [--passphrase-file=FILE] [--token-out=FILE [--force]]"},
    {"recover", op_recover,
     "Re-seal the root key to this enclave from the recovery passphrase\n"
     "(prompted with echo off, or read from --passphrase-file).",
     "operator recover [--passphrase-file=FILE]"},
};

int cmd_operator(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, op_cmds, sizeof(op_cmds) / sizeof(op_cmds[0]), "operator", argc, argv);
}
