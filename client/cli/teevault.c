/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault: the operator CLI. Every command goes through libteevault.
 *
 * HOW TO ADD A COMMAND (the extension point: one file + one table line)
 *   1. Write client/cli/cmd_<name>.c defining
 *          int cmd_<name>(struct cli_ctx *ctx, int argc, char **argv);
 *      argv[0] is "<name>"; ctx->cmd points at the command's table entry.
 *      - A group of subcommands (like `kv put|get`): a static
 *        `struct cli_cmd` table {name, fn, help, usage} and
 *            return cli_dispatch(ctx, table, n, "<name>", argc, argv);
 *        (lists the subcommands on --help / no subcommand); see cmd_kv.c.
 *      - A leaf without options of its own:
 *            if ((r = cli_args(ctx, argc, argv, min, max)) != CLI_CONTINUE) return r;
 *        then the positionals are argv[optind..argc). See cmd_status.c.
 *      - A leaf with options: a `struct option` array (values >= 0x100 or a
 *        letter; never 'h') and
 *            while ((o = cli_getopt(ctx, argc, argv, opts)) != -1) switch (o) {
 *            ... case 'h': return cli_usage(ctx, CLI_OK); default: return CLI_USAGE; }
 *            if ((r = cli_check_args(ctx, argc, min, max)) != CLI_CONTINUE) return r;
 *        cli_getopt also handles the global options (--format, --addr,
 *        --token-file, --cacert, --client-cert, --client-key, --help) and
 *        refuses abbreviated long options. See cmd_kv.c kv_put.
 *      Then cli_connect(ctx, need_token) (opens ctx->client from
 *      TEEVAULT_ADDR etc.; main closes it), one tv_* call from teevault.h,
 *      output with cli_out_* (table or JSON, server strings escaped), and
 *      return CLI_OK (0), CLI_ERR (1; report a tv_err with cli_fail(ctx, r),
 *      a local problem with cli_errorf) or CLI_USAGE (2; cli_usage_err()).
 *      Secrets never come from argv: cli_read_secret_file() (file or "-")
 *      or cli_prompt_secret() (no echo), freed with cli_secret_free();
 *      files the CLI creates go through cli_write_private_file() (0600).
 *      Commands that need no daemon (offline verification) simply never
 *      call cli_connect.
 *   2. Declare cmd_<name> in client/cli/cli.h and add ONE line to `commands`
 *      below: {"<name>", cmd_<name>, "one-line help", "<name> <synopsis>"}.
 *   The CMake glob compiles the new file into tv_cli; nothing else changes
 *   (link an extra module library in client/CMakeLists.txt if you need one).
 *
 * Exit status (cli.h, teevault(1)): 0 ok, 1 error, 2 usage (and `status` on a
 * sealed vault), 3 not found, 4 permission denied, 5 sealed, 6 unreachable,
 * 7 verification failed.
 * Report a tv_err with cli_fail(), which picks the code.
 */
#include "cli.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#ifndef TV_VERSION
#define TV_VERSION "0.1.0"
#endif

static const struct cli_cmd commands[] = {
    {"status", cmd_status, "show the vault's state (no token needed); exit 2 when sealed",
     "status [--health]"},
    {"health", cmd_health, "is the vault active? (Sys.Health; exit 0 active, 2 sealed, 1 other)",
     "health"},
    {"operator", cmd_operator, "initialise or recover the vault, rotate its key, snapshots",
     "operator init|recover|rotate|snapshot"},
    {"login", cmd_login, "trade a user name and password for a token", "login [USER]"},
    {"token", cmd_token, "create, revoke and look up tokens", "token create|revoke|lookup"},
    {"user", cmd_user, "manage operator users", "user add|passwd|delete|list"},
    {"policy", cmd_policy, "manage ACL policies", "policy write|read|list|delete"},
    {"kv", cmd_kv, "store and read secrets",
     "kv put|get|list|describe|metadata|delete|undelete|destroy|versions"},
    {"audit", cmd_audit, "list, export and verify the audit log", "audit list|export|verify"},
    {"attest", cmd_attest, "verify TEE evidence offline, or the running vault",
     "attest verify|vault"},
    {"function", cmd_function, "register function identities (who may attest)",
     "function register|show|list|delete"},
    {"acl", cmd_acl, "explain why the ACL allows or denies a request", "acl explain"},
    {"governance", cmd_governance, "dual control: propose, sign offline, apply with a quorum",
     "governance keygen|propose|show|sign|apply|list"},
};

int cli_run(struct cli_ctx *ctx, int argc, char **argv)
{
    int r;

    if (!ctx->prog)
        ctx->prog = "teevault";
    if (!ctx->out)
        ctx->out = stdout;
    if (!ctx->err)
        ctx->err = stderr;
    if (!ctx->addr) {
        const char *a = getenv("TEEVAULT_ADDR");
        ctx->addr = a && a[0] ? a : TEEVAULT_DEFAULT_ADDR;
    }
    if (!ctx->cacert) {
        const char *c = getenv("TEEVAULT_CACERT");
        ctx->cacert = c && c[0] ? c : NULL;
    }
    if (!ctx->token_file) {
        /* A token file keeps the token out of the environment. */
        const char *t = getenv("TEEVAULT_TOKEN_FILE");
        ctx->token_file = t && t[0] ? t : NULL;
    }
    if (!ctx->cert)
        ctx->cert = getenv("TEEVAULT_CLIENT_CERT");
    if (!ctx->key)
        ctx->key = getenv("TEEVAULT_CLIENT_KEY");

    /* Vault's spelling -field=NAME / -field NAME is --field (before "--"). */
    for (int k = 1; k < argc && strcmp(argv[k], "--"); k++) {
        if (!strcmp(argv[k], "-field"))
            argv[k] = (char *)(uintptr_t) "--field";
        else if (!strncmp(argv[k], "-field=", 7))
            ctx->field = argv[k] + 7, argv[k] = (char *)(uintptr_t) "--format=table";
    }
    /* Global options before the command word (also accepted after it, by
     * every command's cli_getopt): --opt=value or --opt value. */
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const char **dst = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            break; /* the dispatcher prints the command list */
        if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
            fprintf(ctx->out, "teevault %s\n", TV_VERSION);
            return CLI_OK;
        }
        if (nl == 8 && !strncmp(a, "--format", nl))
            dst = NULL;
        else if (nl == 6 && !strncmp(a, "--addr", nl))
            dst = &ctx->addr;
        else if (nl == 12 && !strncmp(a, "--token-file", nl))
            dst = &ctx->token_file;
        else if (nl == 8 && !strncmp(a, "--cacert", nl))
            dst = &ctx->cacert;
        else if (nl == 13 && !strncmp(a, "--client-cert", nl))
            dst = &ctx->cert;
        else if (nl == 12 && !strncmp(a, "--client-key", nl))
            dst = &ctx->key;
        else if (nl == 7 && !strncmp(a, "--field", nl))
            dst = &ctx->field;
        else {
            char q[96];
            return cli_usage_err(ctx, "unknown option %s",
                                 cli_term_escape(q, sizeof(q), a, strlen(a)));
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val)
            return cli_usage_err(ctx, "option %s needs an argument", a);
        if (dst)
            *dst = val;
        else if (cli_parse_format(val, &ctx->format) < 0)
            return cli_usage_err(ctx, "--format must be table or json");
    }
    r = cli_dispatch(ctx, commands, sizeof(commands) / sizeof(commands[0]), "", argc - i + 1,
                     argv + i - 1);
    if (r == CLI_OK && ctx->field && !ctx->field_found) {
        char q[96];
        fprintf(ctx->err, "%s: %s: no field %s in the output\n", ctx->prog,
                ctx->path[0] ? ctx->path : "error",
                cli_term_escape(q, sizeof(q), ctx->field, strlen(ctx->field)));
        r = CLI_ERR;
    }
    tv_client_close(ctx->client);
    ctx->client = NULL;
    fflush(ctx->out);
    return r;
}

int cli_main(int argc, char **argv)
{
    struct cli_ctx ctx;

    memset(&ctx, 0, sizeof(ctx));
    if (sodium_init() < 0) {
        fputs("teevault: libsodium initialisation failed\n", stderr);
        return CLI_ERR;
    }
    return cli_run(&ctx, argc, argv);
}
