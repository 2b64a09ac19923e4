/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the SEV-SNP report parser and verifier: the first 1184 bytes are the
 * report; the rest is parsed as a certificate table (evidence = report ‖
 * table, certificates taken from it), and also offered as the VCEK/VLEK
 * certificate and as the ASK/ARK chain (DER or PEM).
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
    {
        seal_snp_certs t;
        const uint8_t *tab = data + SEAL_SNP_REPORT_LEN;
        size_t tn = size - SEAL_SNP_REPORT_LEN;
        if (seal_snp_cert_table(tab, tn, &t) == 0) {
            const uint8_t *ps[4] = {t.vcek, t.vlek, t.ask, t.ark};
            size_t ns[4] = {t.vcek_len, t.vlek_len, t.ask_len, t.ark_len};
            for (int i = 0; i < 4; i++)
                if (ps[i] && (ps[i] < tab || (size_t)(ps[i] - tab) > tn ||
                              tn - (size_t)(ps[i] - tab) < ns[i]))
                    __builtin_trap();
        }
        if (seal_verify_evidence(data, size, &in, &p, &v)) {
        }
    }
    in.type = SEAL_EV_SNP;
    in.vcek = data + SEAL_SNP_REPORT_LEN;
    in.vcek_len = size - SEAL_SNP_REPORT_LEN;
    in.chain = in.vcek;
    in.chain_len = in.vcek_len;
    if (seal_verify_evidence(data, SEAL_SNP_REPORT_LEN, &in, &p, &v)) {
    }
    return 0;
}
