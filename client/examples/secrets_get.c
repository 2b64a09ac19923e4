/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secrets_get: what a function runtime does to give sandboxed code its
 * `secrets.get(name)`: attest once, then read secrets sealed to the session's
 * ephemeral key.
 *
 *   secrets_get [-a ADDR] [-t TEE] [-r TEE_ROOT] [-s SIM_STATE_DIR]
 *               [-m SIM_MEASUREMENT_FILE] [-S SIM_SHAPE_FILE] -V VAULT_SIM_PUBKEY_FILE
 *               -f FUNCTION -c CODE_FILE SECRET...
 *
 * -V is required: the vault is verified first (Attestation.Report v2 over a
 * fresh nonce, sim evidence checked against the 32-byte sim platform public
 * key in the file), nothing is asked of a vault that fails, and the
 * connection pins the signing key the Report binds: an Attest reply not
 * signed by it (a relay that swapped the session key) is refused.
 *
 * The code hash is SHA-256 of CODE_FILE (the JavaScript/Python source the
 * runtime is about to run). Each value is written to stdout followed by a
 * newline. Exit 0 when every secret was read, 1 otherwise.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "teevault.h"

static int hash_file(const char *path, uint8_t out[32])
{
    crypto_hash_sha256_state st;
    uint8_t buf[4096];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f)
        return -1;
    crypto_hash_sha256_init(&st);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_hash_sha256_update(&st, buf, n);
    fclose(f);
    crypto_hash_sha256_final(&st, out);
    return 0;
}

int main(int argc, char **argv)
{
    const char *addr = TEEVAULT_DEFAULT_ADDR, *fn = NULL, *code = NULL, *vpub = NULL;
    tv_attest_opts o = {0};
    tv_client *c = NULL;
    tv_session *s = NULL;
    uint8_t code_hash[32];
    int opt, r, rc = 1;

    while ((opt = getopt(argc, argv, "a:t:r:s:m:S:f:c:V:")) != -1) {
        switch (opt) {
        case 'a':
            addr = optarg;
            break;
        case 't':
            o.tee = optarg;
            break;
        case 'r':
            o.tee_root = optarg;
            break;
        case 's':
            o.sim_state_dir = optarg;
            break;
        case 'm':
            o.sim_measurement_file = optarg;
            break;
        case 'f':
            fn = optarg;
            break;
        case 'c':
            code = optarg;
            break;
        case 'V':
            vpub = optarg;
            break;
        case 'S': /* sim evidence carrying SGX/TDX/SNP claims (seal_sim_report.h) */
            o.sim_shape_file = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (!fn || !code || !vpub || optind >= argc)
        goto usage;
    if (sodium_init() < 0 || hash_file(code, code_hash) < 0) {
        fprintf(stderr, "secrets_get: cannot read %s\n", code);
        return 1;
    }
    if ((r = tv_client_open(addr, NULL, &c)) < 0) {
        fprintf(stderr, "secrets_get: connect: %s\n", tv_strerror(r));
        return 1;
    }
    {
        tv_vault_verify_opts vo = {0};
        tv_vault_report rep;
        uint8_t pk[32];
        FILE *f = fopen(vpub, "rb");
        if (!f || fread(pk, 1, sizeof pk, f) != sizeof pk) {
            fprintf(stderr, "secrets_get: cannot read a 32-byte key from %s\n", vpub);
            if (f)
                fclose(f);
            goto out;
        }
        fclose(f);
        vo.sim_pk = pk;
        if ((r = tv_attest_verify_vault(c, &vo, &rep)) < 0) {
            fprintf(stderr, "secrets_get: vault not trusted: %s (%s)\n", tv_strerror(r),
                    tv_client_last_error(c));
            goto out;
        }
        fprintf(stderr, "secrets_get: vault verified (%s evidence, audit seq %llu)\n", rep.type,
                (unsigned long long)rep.audit_seq);
    }
    if ((r = tv_attest_function(c, fn, code_hash, sizeof code_hash, &o, &s)) < 0) {
        fprintf(stderr, "secrets_get: attest: %s (%s)\n", tv_strerror(r), tv_client_last_error(c));
        goto out;
    }
    rc = 0;
    for (int i = optind; i < argc; i++) {
        uint8_t *v = NULL;
        size_t len = 0;
        if ((r = tv_secrets_get(s, argv[i], &v, &len)) < 0) {
            fprintf(stderr, "secrets_get: %s: %s (%s)\n", argv[i], tv_strerror(r),
                    tv_client_last_error(c));
            rc = 1;
            continue;
        }
        fwrite(v, 1, len, stdout);
        fputc('\n', stdout);
        tv_free_secret(v);
    }
out:
    tv_session_free(s);
    tv_client_close(c);
    return rc;
usage:
    fprintf(stderr, "usage: secrets_get [-a ADDR] [-t TEE] [-r TEE_ROOT] [-s SIM_STATE_DIR] "
                    "[-m SIM_MEASUREMENT_FILE] [-S SIM_SHAPE_FILE] -V VAULT_SIM_PUBKEY_FILE "
                    "-f FUNCTION "
                    "-c CODE_FILE SECRET...\n");
    return 2;
}
