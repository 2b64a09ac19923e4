/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault status [--health] | teevault health: the vault's state (Sys.Status,
 * Sys.Health); no token needed. Like `bao status`, status exits 2 when the
 * vault is sealed, so a script can tell "sealed" from "down" (6) and "up" (0).
 */
#include "cli.h"

#include <string.h>

enum { OPT_HEALTH = 0x2600 };

static const struct option status_opts[] = {
    {"health", no_argument, NULL, OPT_HEALTH},
    {0},
};

/* Sys.Health: state and ok. Exit 0 active, 2 sealed, 1 uninitialised. */
static int health(struct cli_ctx *ctx)
{
    int ok = 0, r;
    char *state = NULL;

    if ((r = cli_connect(ctx, 0)) != 0)
        return r;
    if ((r = tv_sys_health(ctx->client, &ok, &state)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_bool(ctx, "ok", ok);
    cli_out_str(ctx, "state", state);
    cli_out_end(ctx);
    r = ok ? CLI_OK : state && !strcmp(state, "sealed") ? CLI_USAGE : CLI_ERR;
    tv_free(state);
    return r;
}

int cmd_health(struct cli_ctx *ctx, int argc, char **argv)
{
    int r;

    if ((r = cli_args(ctx, argc, argv, 0, 0)) != CLI_CONTINUE)
        return r;
    return health(ctx);
}

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
    tv_status *st = NULL;
    int o, r, want_health = 0;

    while ((o = cli_getopt(ctx, argc, argv, status_opts)) != -1) {
        switch (o) {
        case OPT_HEALTH:
            want_health = 1;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if (want_health)
        return health(ctx);
    if ((r = cli_connect(ctx, 0)) != 0)
        return r;
    if ((r = tv_sys_status(ctx->client, &st)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_str(ctx, "state", st->state);
    cli_out_bool(ctx, "initialized", st->initialized);
    cli_out_bool(ctx, "sealed", st->sealed);
    cli_out_str(ctx, "version", st->version);
    cli_out_str(ctx, "tee_backend", st->tee_backend);
    cli_out_bool(ctx, "hardware_protected", st->hardware_protected);
    if (st->warning[0] || ctx->format == CLI_FMT_JSON)
        cli_out_str(ctx, "warning", st->warning);
    cli_out_u64(ctx, "kek_epoch", st->kek_epoch);
    cli_out_hex(ctx, "measurement", st->measurement, st->measurement_len);
    cli_out_hex(ctx, "signer", st->signer, st->signer_len);
    cli_out_str(ctx, "seal_policy", st->seal_policy);
    cli_out_u64(ctx, "storage_used_bytes", st->storage_used_bytes);
    cli_out_u64(ctx, "storage_map_bytes", st->storage_map_bytes);
    cli_out_u64(ctx, "audit_seq", st->audit_seq);
    cli_out_hex(ctx, "audit_head", st->audit_head, st->audit_head_len);
    cli_out_hex(ctx, "audit_pubkey", st->audit_pubkey, st->audit_pubkey_len);
    cli_out_u64(ctx, "audit_used_percent", st->audit_used_percent);
    cli_out_bool(ctx, "operator_plaintext_reads", st->operator_plaintext_reads);
    if (st->rotation_epoch || ctx->format == CLI_FMT_JSON) {
        cli_out_bool(ctx, "rotation_running", st->rotation_running);
        cli_out_u64(ctx, "rotation_epoch", st->rotation_epoch);
        cli_out_u64(ctx, "rotation_rewrapped", st->rotation_rewrapped);
        cli_out_u64(ctx, "rotation_visited", st->rotation_visited);
        cli_out_u64(ctx, "rotation_total", st->rotation_total);
        if (st->rotation_error[0] || ctx->format == CLI_FMT_JSON)
            cli_out_str(ctx, "rotation_error", st->rotation_error);
    }
    cli_out_end(ctx);
    r = st->sealed ? CLI_USAGE : CLI_OK;
    if (st->sealed)
        fprintf(ctx->err, "%s: status: %s\n", ctx->prog, CLI_SEALED_MSG);
    tv_status_free(st);
    return r;
}
