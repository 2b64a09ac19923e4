/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the collateral parsers: dcap-qvl bundle JSON, PCS response bodies
 * ({"tcbInfo":…} / {"enclaveIdentity":…}) and raw TCB info / QE identity
 * objects (TCB levels, components, advisories, TDX module identities).
 */
#include <stdint.h>
#include <stdlib.h>

#include "seal_verify_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seal_collateral *c = NULL;
    seal_tcb_info *ti = malloc(sizeof(*ti));
    seal_qe_identity *qi = malloc(sizeof(*qi));

    if (seal_collateral_check_json(data, size)) {
    }
    if (seal_collateral_from_bundle(data, size, &c) == 0)
        seal_collateral_free(c);
    if (ti && seal_tcb_info_parse(data, size, ti) == 0) {
        /* evaluate against a fixed platform */
        seal_pck_tcb pck = {{3, 3, 3, 3}, 11, {0}, {0}};
        uint8_t tee[16] = {5, 3, 2, 2};
        seal_verdict v = {0};
        seal_tcb_level qe = {.status = SEAL_TCB_UP_TO_DATE};
        seal_tcb_evaluate(ti, &pck, NULL, &qe, &v);
        seal_tcb_evaluate(ti, &pck, tee, NULL, &v);
    }
    if (qi && seal_qe_identity_parse(data, size, qi) == 0)
        if (seal_qe_level(qi, 8)) {
        }
    free(ti);
    free(qi);
    return 0;
}
