/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault attest vault: verify the running vault (Attestation.Report v2 over
 * a fresh nonce) before trusting it, and show what its Report binds: vault
 * id, signing key, config hash, TLS key hash, audit key and head, state.
 * All verification is tv_attest_verify_vault() (libteevault).
 *
 * Exit status: 0 when the Report verified and every pin matched; 7 when it
 * was refused (forged, not bound, wrong pins, rolled back); 2 on a usage
 * error; 1, 6 as any command (teevault(1)).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

enum {
    OPT_SIM_PUBKEY = 0x2500,
    OPT_MEASUREMENT,
    OPT_SIGNER,
    OPT_PRODUCT_ID,
    OPT_COLLATERAL,
    OPT_ALLOW_DEBUG,
    OPT_NO_COLLATERAL,
};

static const struct option vault_opts[] = {
    {"sim-pubkey", required_argument, NULL, OPT_SIM_PUBKEY},
    {"measurement", required_argument, NULL, OPT_MEASUREMENT},
    {"signer", required_argument, NULL, OPT_SIGNER},
    {"product-id", required_argument, NULL, OPT_PRODUCT_ID},
    {"collateral", required_argument, NULL, OPT_COLLATERAL},
    {"allow-debug", no_argument, NULL, OPT_ALLOW_DEBUG},
    {"allow-no-collateral", no_argument, NULL, OPT_NO_COLLATERAL},
    {0},
};

static int parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
    size_t n = 0;
    if (sodium_hex2bin(out, max, s, strlen(s), NULL, &n, NULL) != 0 || n == 0 || strlen(s) != 2 * n)
        return -1;
    *len = n;
    return 0;
}

int attest_vault(struct cli_ctx *ctx, int argc, char **argv)
{
    tv_vault_verify_opts vo;
    tv_vault_report rep;
    uint8_t spk[32], meas[48], signer[32];
    size_t mlen = 0, slen = 0;
    uint64_t pid = 0;
    int o, r;

    memset(&vo, 0, sizeof vo);
    while ((o = cli_getopt(ctx, argc, argv, vault_opts)) != -1) {
        switch (o) {
        case OPT_SIM_PUBKEY: {
            FILE *f = fopen(optarg, "rb");
            char q[256];
            size_t n = f ? fread(spk, 1, sizeof spk, f) : 0;
            int extra = f ? fgetc(f) : EOF;
            if (f)
                fclose(f);
            if (n != sizeof spk || extra != EOF) {
                cli_errorf(ctx, "%s is not a 32-byte sim platform public key",
                           cli_term_escape(q, sizeof q, optarg, strlen(optarg)));
                return CLI_ERR;
            }
            vo.sim_pk = spk;
            break;
        }
        case OPT_MEASUREMENT:
            if (parse_hex(optarg, meas, sizeof meas, &mlen) < 0)
                return cli_usage_err(ctx, "--measurement takes 32 or 48 bytes of hex");
            vo.measurement = meas;
            vo.measurement_len = mlen;
            break;
        case OPT_SIGNER:
            if (parse_hex(optarg, signer, sizeof signer, &slen) < 0 || slen != 32)
                return cli_usage_err(ctx, "--signer takes an SGX MRSIGNER (32 bytes of hex)");
            vo.signer = signer;
            vo.signer_len = slen;
            break;
        case OPT_PRODUCT_ID:
            if (cli_parse_u64(optarg, &pid) < 0 || pid > 0xffff)
                return cli_usage_err(ctx, "--product-id takes 0..65535");
            vo.pin_product_id = 1;
            vo.product_id = (uint16_t)pid;
            break;
        case OPT_COLLATERAL:
            vo.collateral = optarg;
            break;
        case OPT_ALLOW_DEBUG:
            vo.allow_debug = 1;
            break;
        case OPT_NO_COLLATERAL:
            vo.allow_no_collateral = 1;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if ((vo.signer && !vo.pin_product_id) || (!vo.signer && vo.pin_product_id))
        return cli_usage_err(ctx, "--signer and --product-id go together");
    if ((r = cli_connect(ctx, 0)) != 0)
        return r;
    if ((r = tv_attest_verify_vault(ctx->client, &vo, &rep)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_str(ctx, "verdict", "verified");
    cli_out_str(ctx, "type", rep.type);
    cli_out_bool(ctx, "debug", rep.debug);
    cli_out_hex(ctx, "measurement", rep.measurement, rep.measurement_len);
    cli_out_u64(ctx, "report_version", rep.report_version);
    cli_out_hex(ctx, "vault_id", rep.vault_id, sizeof rep.vault_id);
    cli_out_hex(ctx, "sign_pubkey", rep.sign_pubkey, sizeof rep.sign_pubkey);
    cli_out_hex(ctx, "config_hash", rep.config_hash, sizeof rep.config_hash);
    cli_out_hex(ctx, "tls_key_hash", rep.tls_key_hash, sizeof rep.tls_key_hash);
    cli_out_hex(ctx, "audit_pubkey", rep.audit_pubkey, sizeof rep.audit_pubkey);
    cli_out_hex(ctx, "policy_hash", rep.policy_hash, sizeof rep.policy_hash);
    cli_out_u64(ctx, "audit_seq", rep.audit_seq);
    cli_out_hex(ctx, "audit_head", rep.audit_head, sizeof rep.audit_head);
    cli_out_u64(ctx, "state_version", rep.state_version);
    cli_out_end(ctx);
    return CLI_OK;
}
