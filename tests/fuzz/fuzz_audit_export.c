/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_audit_export: the offline verifier's input path. The whole input is an
 * export file (JSON lines): it runs through the streaming verifier with the
 * file's own key and with a fixed key, and every line that parses is
 * re-encoded and must parse back to the same value (the encoder and the strict
 * parser agree on exactly one spelling of each value).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

static const uint8_t FIXED_PK[AUDIT_PK_LEN] = {0x3b, 0x6a, 0x27, 0xbc};

static void roundtrip(const char *line, size_t len)
{
    static audit_line a, b;
    static char buf[AUDIT_JSON_LINE_MAX];
    const char *why = NULL;
    int n = -1;
    if (audit_json_parse(line, len, &a, &why) < 0)
        return;
    switch (a.type) {
    case AUDIT_LINE_HEADER:
        n = audit_json_header(buf, sizeof(buf), a.has_pubkey ? a.pubkey : NULL);
        break;
    case AUDIT_LINE_RECORD:
        n = audit_json_record(buf, sizeof(buf), &a.rec);
        break;
    case AUDIT_LINE_CHECKPOINT:
        n = audit_json_checkpoint(buf, sizeof(buf), &a.ckpt);
        break;
    }
    if (n < 0)
        abort(); /* AUDIT_JSON_LINE_MAX must always suffice */
    if (audit_json_parse(buf, (size_t)n, &b, &why) < 0)
        abort();
    if (memcmp(&a, &b, sizeof(a)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    audit_verify_result res;
    const char *s = (const char *)data;
    int r = audit_verify_buffer(s, size, NULL, &res);
    if ((r == 0) != (res.verdict == AUDIT_OK) || (r == 0 && res.covered_to != res.last_seq))
        abort(); /* the return value and the verdict must agree */
    r = audit_verify_buffer(s, size, FIXED_PK, &res);
    if (r == 0 && res.records > 0)
        abort(); /* nobody holds FIXED_PK's secret key */
    size_t i = 0;
    while (i < size) {
        const char *nl = memchr(s + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (s + i)) : size - i;
        roundtrip(s + i, n);
        i += n + (nl ? 1 : 0);
    }
    return 0;
}
