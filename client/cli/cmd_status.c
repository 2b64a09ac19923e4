/* teevault status: the vault's state (Sys.Status); no token needed. */
#include "cli.h"

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
    tv_status *st = NULL;
    int r;

    if ((r = cli_args(ctx, argc, argv, 0, 0)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 0)) != 0)
        return r;
    if ((r = tv_sys_status(ctx->client, &st)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_bool(ctx, "initialized", st->initialized);
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
    cli_out_end(ctx);
    tv_status_free(st);
    return CLI_OK;
}
