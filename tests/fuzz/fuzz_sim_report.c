/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the sim report parser and verifier (seal_sim_report.h) and the
 * unverified evidence-identity parser the producers use
 * (seal_evidence_identity for sgx / tdx / snp bodies).
 * Seeds in corpus/sim_report were signed by the platform key whose public
 * half is pinned below, so the signature path is reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal_producers.h"
#include "seal_sim_report.h"

static const uint8_t pinned[32] = {0x6d, 0xfc, 0xa4, 0x79, 0xbc, 0x1b, 0xce, 0x3f, 0x33, 0x15, 0x8d,
                                   0x06, 0xde, 0xc0, 0x2f, 0x90, 0xd7, 0xe6, 0xc1, 0x59, 0x73, 0x62,
                                   0xb0, 0xa6, 0xc8, 0x50, 0x2f, 0xb2, 0x1c, 0xd9, 0xf9, 0x58};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seal_sim_report rep;
    seal_verdict v;
    seal_verify_policy pol;
    seal_sim_policy sp;
    seal_identity id;
    const uint8_t *rd = NULL;
    const char *why = NULL;
    static const char *types[] = {"sgx", "tdx", "snp"};

    memset(&pol, 0, sizeof pol);
    memset(&sp, 0, sizeof sp);
    int r = 0;

    if (seal_sim_report_parse(data, size, &rep) == 0 &&
        seal_sim_report_verify(data, size, pinned, &rep) == 0)
        r |= seal_sim_report_check(&rep, &sp, &why);
    r |= seal_sim_verify_verdict(data, size, pinned, sizeof pinned, &pol, &v);
    for (size_t i = 0; i < 3; i++)
        r |= seal_evidence_identity(types[i], data, size, &id, &rd);
    (void)r;
    return 0;
}
