/*
 * Fuzz the SEV-SNP report parser and verifier: the first 1184 bytes are the
 * report, the rest is offered as the VCEK/VLEK certificate and as the
 * ASK/ARK chain (DER or PEM).
 */
#include <stdint.h>
#include <string.h>

#include "seal_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seal_claims c;
    seal_verify_inputs in;
    seal_verify_policy p;
    seal_verdict v;

    if (seal_snp_parse(data, size, &c)) {
    }
    if (size < SEAL_SNP_REPORT_LEN)
        return 0;
    if (seal_snp_parse(data, SEAL_SNP_REPORT_LEN, &c)) {
    }
    memset(&in, 0, sizeof(in));
    memset(&p, 0, sizeof(p));
    p.at_set = 1;
    p.at = 1750377600;
    p.allow_debug = 1;
    in.type = SEAL_EV_SNP;
    in.vcek = data + SEAL_SNP_REPORT_LEN;
    in.vcek_len = size - SEAL_SNP_REPORT_LEN;
    in.chain = in.vcek;
    in.chain_len = in.vcek_len;
    if (seal_verify_evidence(data, SEAL_SNP_REPORT_LEN, &in, &p, &v)) {
    }
    return 0;
}
