/* SPDX-License-Identifier: Apache-2.0 */
/* teevault operator init | recover | rotate: Sys.Initialize, Sys.Recover, Sys.Rotate. */
#include "cli.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

enum { OPT_PASSFILE = 0x2000, OPT_TOKEN_OUT, OPT_FORCE, OPT_GOV_KEY, OPT_GOV_K, OPT_NO_WAIT };
#define MAX_GOV_KEYS 16

static const struct option init_opts[] = {
    {"passphrase-file", required_argument, NULL, OPT_PASSFILE},
    {"token-out", required_argument, NULL, OPT_TOKEN_OUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {"governance-key", required_argument, NULL, OPT_GOV_KEY},
    {"governance-threshold", required_argument, NULL, OPT_GOV_K},
    {0},
};

/* A governance public key file: 64 hex digits (cmd_governance.c keygen). */
static int read_pub(struct cli_ctx *ctx, const char *path, uint8_t pk[32])
{
    char *txt = NULL;
    size_t len = 0, bl = 0;
    int r = -1;
    if (cli_read_secret_file(ctx, path, 256, 1, &txt, &len) < 0)
        return -1;
    if (len != 64 || sodium_hex2bin(pk, 32, txt, 64, NULL, &bl, NULL) != 0 || bl != 32)
        cli_errorf(ctx, "%s: expected an Ed25519 public key as 64 hex digits", path);
    else
        r = 0;
    cli_secret_free(txt);
    return r;
}

static int op_init(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *passfile = NULL, *token_out = NULL;
    char *pass = NULL, *root = NULL, *gen = NULL;
    size_t plen = 0, ngov = 0;
    uint8_t gov[MAX_GOV_KEYS][32];
    uint64_t gk = 0;
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
        case OPT_GOV_KEY:
            if (ngov == MAX_GOV_KEYS)
                return cli_usage_err(ctx, "at most %d --governance-key options", MAX_GOV_KEYS);
            if (read_pub(ctx, optarg, gov[ngov]) < 0)
                return CLI_ERR;
            ngov++;
            break;
        case OPT_GOV_K:
            if (cli_parse_u64(optarg, &gk) < 0 || gk < 1 || gk > MAX_GOV_KEYS)
                return cli_usage_err(ctx, "--governance-threshold must be 1..%d", MAX_GOV_KEYS);
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if ((ngov == 0) != (gk == 0) || gk > ngov)
        return cli_usage_err(ctx, "--governance-key FILE... and --governance-threshold K (K <= "
                                  "the number of keys) go together");
    if (passfile && cli_read_secret_file(ctx, passfile, 4096, 1, &pass, &plen) < 0)
        return CLI_ERR;
    if (pass && plen < 12) {
        ret = cli_errorf(ctx, "the recovery passphrase must have at least 12 characters");
        goto out;
    }
    if ((ret = cli_connect(ctx, 0)) != 0)
        goto out;
    ret = CLI_ERR;
    if ((r = tv_sys_init_governed(ctx->client, pass, (const uint8_t(*)[32])gov, ngov, (uint32_t)gk,
                                  &root, &gen)) < 0) {
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

static const struct option rotate_opts[] = {
    {"no-wait", no_argument, NULL, OPT_NO_WAIT},
    {0},
};

/* Rotate: a new KEK epoch, then follow the vault's background re-wrap of the
 * older DEKs (Status.rotation_*) with progress on stderr, until it is done. */
static int op_rotate(struct cli_ctx *ctx, int argc, char **argv)
{
    uint64_t epoch = 0, rewrapped = 0, pending = 0;
    tv_status *st = NULL;
    int o, r, wait = 1, ret = CLI_ERR;
    int tty = isatty(fileno(ctx->err));

    while ((o = cli_getopt(ctx, argc, argv, rotate_opts)) != -1) {
        switch (o) {
        case OPT_NO_WAIT:
            wait = 0;
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
    if ((r = tv_sys_rotate_ex(ctx->client, &epoch, &rewrapped, &pending)) < 0)
        return cli_fail(ctx, r);
    fprintf(ctx->err, "%s: rotated to key epoch %llu; re-wrapping the data keys of %llu versions\n",
            ctx->prog, (unsigned long long)epoch, (unsigned long long)pending);
    if (wait && pending) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        uint64_t last = UINT64_MAX;
        for (;;) {
            if ((r = tv_sys_status(ctx->client, &st)) < 0) {
                ret = cli_fail(ctx, r);
                goto out;
            }
            if (st->rotation_epoch != epoch)
                break; /* another rotation started meanwhile: it visits everything */
            if (st->rotation_visited != last) {
                last = st->rotation_visited;
                fprintf(ctx->err, "%s%s: re-wrapped %llu keys, visited %llu of %llu versions%s",
                        tty ? "\r" : "", ctx->prog, (unsigned long long)st->rotation_rewrapped,
                        (unsigned long long)st->rotation_visited,
                        (unsigned long long)st->rotation_total, tty ? "" : "\n");
                fflush(ctx->err);
            }
            if (!st->rotation_running)
                break;
            tv_status_free(st);
            st = NULL;
            nanosleep(&ts, NULL);
        }
        if (tty)
            fputc('\n', ctx->err);
        if (st && st->rotation_epoch == epoch) {
            rewrapped = st->rotation_rewrapped;
            if (st->rotation_error[0]) {
                char q[200];
                ret = cli_errorf(
                    ctx,
                    "re-wrapping stopped after %llu keys: %s (older epochs stay "
                    "readable; run rotate again)",
                    (unsigned long long)rewrapped,
                    cli_term_escape(q, sizeof(q), st->rotation_error, strlen(st->rotation_error)));
                goto out;
            }
        }
    }
    cli_out_begin(ctx);
    cli_out_u64(ctx, "kek_epoch", epoch);
    cli_out_u64(ctx, "versions", pending);
    cli_out_u64(ctx, "rewrapped", rewrapped);
    cli_out_bool(ctx, "done", wait || !pending);
    cli_out_end(ctx);
    ret = CLI_OK;
out:
    tv_status_free(st);
    return ret;
}

static const struct cli_cmd op_cmds[] = {
    {"init", op_init,
     "Initialise an empty vault. Prints the root token and, unless\n"
     "--passphrase-file gives one, the generated recovery passphrase (once).\n"
     "  --passphrase-file=FILE  recovery passphrase from FILE ('-' = stdin)\n"
     "  --token-out=FILE        write the root token to FILE (mode 0600) instead\n"
     "  --force                 overwrite FILE if it exists\n"
     "  --governance-key=FILE   an Ed25519 governance public key (repeat, 1..16)\n"
     "  --governance-threshold=K  signatures needed for changes that decide who\n"
     "                          can receive plaintext (docs/POLICIES.md)",
     "operator init [--passphrase-file=FILE] [--token-out=FILE [--force]]\n"
     "              [--governance-key=FILE... --governance-threshold=K]"},
    {"rotate", op_rotate,
     "Start a new key-encryption-key epoch: new data keys are wrapped under it at once;\n"
     "the vault re-wraps the existing ones in bounded steps while it keeps serving\n"
     "requests. Progress is printed on stderr until the re-wrap is done.\n"
     "  --no-wait               return once the new epoch is current",
     "operator rotate [--no-wait]"},
    {"snapshot", cmd_operator_snapshot,
     "Save a consistent copy of the running vault (save FILE), or put one back\n"
     "while teevaultd is stopped (restore FILE [--state-dir=DIR]).",
     "operator snapshot save|restore FILE"},
    {"recover", op_recover,
     "Re-seal the root key to this enclave from the recovery passphrase\n"
     "(prompted with echo off, or read from --passphrase-file).",
     "operator recover [--passphrase-file=FILE]"},
};

int cmd_operator(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, op_cmds, sizeof(op_cmds) / sizeof(op_cmds[0]), "operator", argc, argv);
}
