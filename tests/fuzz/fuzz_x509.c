/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz certificate loading (PEM chains / DER) and our own DER walking of the
 * Intel SGX PCK extension, plus the DER walker on raw input.
 */
#include <stdint.h>

#include "seal_verify_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    STACK_OF(X509) *sk = NULL;
    const uint8_t *p = data, *val;
    size_t n = size, vn;
    uint8_t tag;
    uint64_t u;

    while (seal_der_next(&p, &n, &tag, &val, &vn) == 0) {
        if (val + vn > data + size)
            __builtin_trap();
        if (seal_der_uint(val, vn, &u)) {
        }
    }
    if (seal_x509_load_certs(data, size, &sk) == 0) {
        for (int i = 0; i < sk_X509_num(sk); i++) {
            seal_pck_tcb t;
            uint8_t fp[32];
            if (seal_pck_extensions(sk_X509_value(sk, i), &t)) {
            }
            seal_x509_fingerprint(sk_X509_value(sk, i), fp);
        }
        sk_X509_pop_free(sk, X509_free);
    }
    return 0;
}
