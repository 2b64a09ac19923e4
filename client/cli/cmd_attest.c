/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault attest verify: offline verification of TEE evidence (no daemon).
 * All verification is seal_verify_evidence() (seal/seal_verify.h); this file
 * only reads the operator's files and formats the verdict.
 *
 * Exit status: 0 only when every signature and chain verified and the policy
 * accepted; 1 when the evidence was refused or a file could not be used;
 * 2 on a usage error.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "seal_verify.h"

#define ATTEST_FILE_MAX (4u << 20)

enum {
    OPT_EVIDENCE = 0x2400,
    OPT_TYPE,
    OPT_COLLATERAL,
    OPT_ROOT,
    OPT_VCEK,
    OPT_CHAIN,
    OPT_CRL,
    OPT_AT,
    OPT_ALLOW_DEBUG,
    OPT_ACCEPT,
    OPT_NO_COLLATERAL,
    OPT_LAX_TDX,
};

static const struct option verify_opts[] = {
    {"evidence", required_argument, NULL, OPT_EVIDENCE},
    {"type", required_argument, NULL, OPT_TYPE},
    {"collateral", required_argument, NULL, OPT_COLLATERAL},
    {"root", required_argument, NULL, OPT_ROOT},
    {"vcek", required_argument, NULL, OPT_VCEK},
    {"chain", required_argument, NULL, OPT_CHAIN},
    {"crl", required_argument, NULL, OPT_CRL},
    {"at", required_argument, NULL, OPT_AT},
    {"allow-debug", no_argument, NULL, OPT_ALLOW_DEBUG},
    {"accept-status", required_argument, NULL, OPT_ACCEPT},
    {"allow-no-collateral", no_argument, NULL, OPT_NO_COLLATERAL},
    {"lax-tdx-attributes", no_argument, NULL, OPT_LAX_TDX},
    {0},
};

/* Read a whole (non-secret) file. Returns 0 or -1 after reporting. */
static int read_all(struct cli_ctx *ctx, const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *d = NULL;
    size_t n = 0, cap = 0;
    char q[256];
    if (!f) {
        cli_errorf(ctx, "cannot open %s: %s", cli_term_escape(q, sizeof(q), path, strlen(path)),
                   strerror(errno));
        return -1;
    }
    for (;;) {
        size_t k;
        if (cap - n < 4096) {
            uint8_t *nd;
            cap = cap ? cap * 2 : 8192;
            if (cap > ATTEST_FILE_MAX + 8192 || !(nd = realloc(d, cap))) {
                free(d);
                fclose(f);
                cli_errorf(ctx, "%s is too large",
                           cli_term_escape(q, sizeof(q), path, strlen(path)));
                return -1;
            }
            d = nd;
        }
        k = fread(d + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f) || n > ATTEST_FILE_MAX) {
        free(d);
        fclose(f);
        cli_errorf(ctx, "cannot read %s", cli_term_escape(q, sizeof(q), path, strlen(path)));
        return -1;
    }
    fclose(f);
    *out = d;
    *len = n;
    return 0;
}

static int parse_statuses(const char *list, uint32_t *mask)
{
    char buf[512], *save = NULL, *tok;
    uint32_t m = 0;
    if (strlen(list) >= sizeof(buf))
        return -1;
    strcpy(buf, list);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int s;
        while (*tok == ' ')
            tok++;
        s = seal_tcb_status_parse(tok);
        if (s <= SEAL_TCB_NOT_EVALUATED || s >= SEAL_TCB_REVOKED)
            return -1; /* Revoked and NoMatch can never be accepted */
        m |= SEAL_TCB_BIT(s);
    }
    if (!m)
        return -1;
    *mask = m;
    return 0;
}

static int parse_type(const char *s, enum seal_ev_type *t)
{
    static const struct {
        const char *n;
        enum seal_ev_type t;
    } types[] = {{"auto", SEAL_EV_UNKNOWN},
                 {"sim", SEAL_EV_SIM},
                 {"sgx", SEAL_EV_SGX},
                 {"tdx", SEAL_EV_TDX},
                 {"snp", SEAL_EV_SNP}};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcasecmp(s, types[i].n) == 0) {
            *t = types[i].t;
            return 0;
        }
    }
    return -1;
}

static void print_verdict(struct cli_ctx *ctx, int r, const seal_verdict *v)
{
    const seal_claims *c = &v->claims;
    char adv[SEAL_MAX_ADVISORIES][SEAL_ADVISORY_LEN];
    char *advp[SEAL_MAX_ADVISORIES];
    const char *verdict = r == 0               ? "accepted"
                          : r == TV_ERR_POLICY ? "refused"
                          : r == TV_ERR_FORMAT ? "malformed"
                                               : "invalid";
    cli_out_begin(ctx);
    cli_out_str(ctx, "verdict", verdict);
    if (r != 0 || ctx->format == CLI_FMT_JSON)
        cli_out_str(ctx, "reason", v->reason);
    cli_out_str(ctx, "type", seal_ev_type_name(v->type));
    cli_out_u64(ctx, "version", c->version);
    cli_out_bool(ctx, "signature_ok", v->signature_ok);
    if (v->type == SEAL_EV_SGX || v->type == SEAL_EV_TDX) {
        cli_out_bool(ctx, "collateral_ok", v->collateral_ok);
        cli_out_str(ctx, "tcb_status", seal_tcb_status_name(v->tcb_status));
        cli_out_str(ctx, "qe_tcb_status", seal_tcb_status_name(v->qe_tcb_status));
        for (size_t i = 0; i < v->n_advisories && i < SEAL_MAX_ADVISORIES; i++) {
            memcpy(adv[i], v->advisories[i], SEAL_ADVISORY_LEN);
            adv[i][SEAL_ADVISORY_LEN - 1] = 0;
            advp[i] = adv[i];
        }
        cli_out_strv(ctx, "advisories", advp, v->n_advisories);
    }
    cli_out_bool(ctx, "debug", v->debug);
    if (c->present & SEAL_CLAIM_MRENCLAVE)
        cli_out_hex(ctx, "mrenclave", c->mrenclave, 32);
    if (c->present & SEAL_CLAIM_MRSIGNER)
        cli_out_hex(ctx, "mrsigner", c->mrsigner, 32);
    if (c->present & SEAL_CLAIM_ISV_PROD_ID)
        cli_out_u64(ctx, "isv_prod_id", c->isv_prod_id);
    if (c->present & SEAL_CLAIM_ISV_SVN)
        cli_out_u64(ctx, "isv_svn", c->isv_svn);
    if (c->present & SEAL_CLAIM_MRTD)
        cli_out_hex(ctx, "mrtd", c->mrtd, 48);
    if (c->present & SEAL_CLAIM_RTMR) {
        cli_out_hex(ctx, "rtmr0", c->rtmr[0], 48);
        cli_out_hex(ctx, "rtmr1", c->rtmr[1], 48);
        cli_out_hex(ctx, "rtmr2", c->rtmr[2], 48);
        cli_out_hex(ctx, "rtmr3", c->rtmr[3], 48);
    }
    if (c->present & SEAL_CLAIM_MRSEAM)
        cli_out_hex(ctx, "mrseam", c->mrseam, 48);
    if (v->type == SEAL_EV_TDX) {
        uint8_t a[8];
        for (int i = 0; i < 8; i++)
            a[i] = (uint8_t)(c->td_attributes >> (8 * i));
        cli_out_hex(ctx, "td_attributes", a, 8);
        if (c->version == 5)
            cli_out_hex(ctx, "mrservicetd", c->mrservicetd, 48);
    }
    if (c->present & SEAL_CLAIM_MEASUREMENT)
        cli_out_hex(ctx, "measurement", c->measurement,
                    c->measurement_len && c->measurement_len <= 48 ? c->measurement_len : 48);
    if (c->present & SEAL_CLAIM_SIGNER)
        cli_out_hex(ctx, "signer", c->signer, c->signer_len <= 48 ? c->signer_len : 48);
    if (c->present & SEAL_CLAIM_SVN)
        cli_out_u64(ctx, "svn", c->svn);
    if (c->present & SEAL_CLAIM_REPORT_DATA)
        cli_out_hex(ctx, "report_data", c->report_data, 64);
    if (c->present & SEAL_CLAIM_HOST_DATA)
        cli_out_hex(ctx, "host_data", c->host_data, 32);
    if (c->present & SEAL_CLAIM_CHIP_ID)
        cli_out_hex(ctx, "chip_id", c->chip_id, 64);
    if (c->present & SEAL_CLAIM_REPORTED_TCB) {
        uint8_t t[8];
        for (int i = 0; i < 8; i++)
            t[i] = (uint8_t)(c->reported_tcb >> (8 * i));
        cli_out_hex(ctx, "reported_tcb", t, 8);
    }
    if (v->type == SEAL_EV_SNP) {
        cli_out_u64(ctx, "vmpl", c->snp_vmpl);
        cli_out_str(ctx, "signing_key", c->snp_signing_key ? "vlek" : "vcek");
    }
    if (c->present & SEAL_CLAIM_FMSPC)
        cli_out_hex(ctx, "fmspc", c->fmspc, 6);
    cli_out_end(ctx);
}

static int attest_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *ev_path = NULL, *coll_path = NULL, *root_path = NULL, *vcek_path = NULL,
               *chain_path = NULL, *crl_path = NULL;
    uint8_t *ev = NULL, *root = NULL, *vcek = NULL, *chain = NULL, *crl = NULL;
    size_t ev_len = 0, root_len = 0, vcek_len = 0, chain_len = 0, crl_len = 0;
    seal_collateral *coll = NULL;
    seal_verify_inputs in;
    seal_verify_policy pol;
    seal_verdict *v = NULL;
    int o, r, rc = CLI_ERR;

    memset(&in, 0, sizeof(in));
    memset(&pol, 0, sizeof(pol));
    while ((o = cli_getopt(ctx, argc, argv, verify_opts)) != -1) {
        switch (o) {
        case OPT_EVIDENCE:
            ev_path = optarg;
            break;
        case OPT_TYPE:
            if (parse_type(optarg, &in.type) < 0)
                return cli_usage_err(ctx, "--type must be auto, sgx, tdx, snp or sim");
            break;
        case OPT_COLLATERAL:
            coll_path = optarg;
            break;
        case OPT_ROOT:
            root_path = optarg;
            break;
        case OPT_VCEK:
            vcek_path = optarg;
            break;
        case OPT_CHAIN:
            chain_path = optarg;
            break;
        case OPT_CRL:
            crl_path = optarg;
            break;
        case OPT_AT:
            if (seal_parse_time(optarg, strlen(optarg), &pol.at) < 0)
                return cli_usage_err(ctx, "--at takes an RFC 3339 time like 2025-06-20T00:00:00Z");
            pol.at_set = 1;
            break;
        case OPT_ALLOW_DEBUG:
            pol.allow_debug = 1;
            break;
        case OPT_ACCEPT:
            if (parse_statuses(optarg, &pol.accepted_statuses) < 0)
                return cli_usage_err(ctx, "--accept-status takes a comma-separated list of "
                                          "UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
                                          "ConfigurationAndSWHardeningNeeded, OutOfDate, "
                                          "OutOfDateConfigurationNeeded");
            break;
        case OPT_NO_COLLATERAL:
            pol.allow_no_collateral = 1;
            break;
        case OPT_LAX_TDX:
            pol.tdx_lax_attributes = 1;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 0, 0)) != CLI_CONTINUE)
        return r;
    if (!ev_path)
        return cli_usage_err(ctx, "--evidence FILE is required");

    if (read_all(ctx, ev_path, &ev, &ev_len) < 0 ||
        (root_path && read_all(ctx, root_path, &root, &root_len) < 0) ||
        (vcek_path && read_all(ctx, vcek_path, &vcek, &vcek_len) < 0) ||
        (chain_path && read_all(ctx, chain_path, &chain, &chain_len) < 0) ||
        (crl_path && read_all(ctx, crl_path, &crl, &crl_len) < 0))
        goto out;
    if (coll_path && (r = seal_collateral_load(coll_path, &coll)) < 0) {
        char q[256];
        cli_errorf(ctx, "cannot use collateral %s: %s",
                   cli_term_escape(q, sizeof(q), coll_path, strlen(coll_path)), tv_strerror(r));
        goto out;
    }
    in.collateral = coll;
    in.vcek = vcek;
    in.vcek_len = vcek_len;
    in.chain = chain;
    in.chain_len = chain_len;
    in.crl = crl;
    in.crl_len = crl_len;
    /* --root: a root certificate, or for sim the platform public key file */
    if (root && (in.type == SEAL_EV_SIM ||
                 (in.type == SEAL_EV_UNKNOWN && seal_evidence_detect(ev, ev_len) == SEAL_EV_SIM))) {
        in.sim_pk = root;
        in.sim_pk_len = root_len;
    } else {
        in.root = root;
        in.root_len = root_len;
    }
    if (!(v = calloc(1, sizeof(*v)))) {
        cli_errorf(ctx, "out of memory");
        goto out;
    }
    r = seal_verify_evidence(ev, ev_len, &in, &pol, v);
    print_verdict(ctx, r, v);
    rc = r == 0 ? CLI_OK : cli_exit_code(r);
out:
    free(v);
    seal_collateral_free(coll);
    free(ev);
    free(root);
    free(vcek);
    free(chain);
    free(crl);
    return rc;
}

static const struct cli_cmd attest_cmds[] = {
    {"verify", attest_verify,
     "verify TEE evidence offline (SGX/TDX DCAP quote, SEV-SNP report, sim report) against "
     "pinned vendor roots and operator-supplied collateral; exit 0 only if accepted",
     "attest verify --evidence FILE [--type auto|sgx|tdx|snp|sim] [--collateral DIR|FILE] "
     "[--root FILE] [--vcek FILE] [--chain FILE] [--crl FILE] [--at RFC3339] [--allow-debug] "
     "[--accept-status LIST] [--allow-no-collateral] [--lax-tdx-attributes] [--format json]"},
    {"vault", attest_vault,
     "verify the running vault's Report v2 (evidence, pins, bound keys and signed state); exit "
     "0 only if verified",
     "attest vault [--sim-pubkey FILE] [--measurement HEX] [--signer HEX --product-id N] "
     "[--collateral DIR|FILE] [--allow-debug] [--allow-no-collateral] [--format json]"},
};

int cmd_attest(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, attest_cmds, sizeof(attest_cmds) / sizeof(attest_cmds[0]), "attest",
                        argc, argv);
}
