/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the Intel DCAP quote parser (SGX v3, TDX v4/v5) and the whole verify
 * path without collateral (signatures, QE binding, PCK chain, extensions).
 */
#include <stdint.h>
#include <string.h>

#include "seal_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seal_dcap_quote q;
    seal_verify_inputs in;
    seal_verify_policy p;
    seal_verdict v;

    if (seal_dcap_parse(data, size, &q) == 0) {
        /* every pointer the parser hands out lies inside the input */
        const uint8_t *end = data + size;
        if (q.body + q.body_len > end || q.qe_report + 384 > end ||
            q.pck_chain + q.pck_chain_len > end || q.qe_auth + q.qe_auth_len > end ||
            q.signed_len > size)
            __builtin_trap();
    }
    memset(&in, 0, sizeof(in));
    memset(&p, 0, sizeof(p));
    p.at_set = 1;
    p.at = 1750377600; /* 2025-06-20 */
    p.allow_no_collateral = 1;
    in.type = SEAL_EV_UNKNOWN;
    if (seal_verify_evidence(data, size, &in, &p, &v)) {
    }
    in.type = SEAL_EV_TDX;
    if (seal_verify_evidence(data, size, &in, &p, &v)) {
    }
    return 0;
}
