/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_names.h"

#include <stdint.h>
#include <stdio.h>

#include "vault.h"

#define WHY(...)                                                                                   \
    do {                                                                                           \
        if (why && whylen)                                                                         \
            snprintf(why, whylen, __VA_ARGS__);                                                    \
    } while (0)

/* Decode one UTF-8 sequence at s[i] (n bytes left). Returns its length (1-4)
 * and the code point, or 0 with a reason. Strict RFC 3629. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp, const char **reason)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else if (c == 0xc0 || c == 0xc1) {
        *reason = "overlong encoding";
        return 0;
    } else if (c >= 0x80 && c <= 0xbf) {
        *reason = "unexpected continuation byte";
        return 0;
    } else {
        *reason = "byte that never appears in UTF-8";
        return 0;
    }
    if (n < len) {
        *reason = "truncated multi-byte sequence";
        return 0;
    }
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            *reason = "truncated multi-byte sequence";
            return 0;
        }
        v = (v << 6) | (s[k] & 0x3f);
    }
    if (v < min) {
        *reason = "overlong encoding";
        return 0;
    }
    if (v >= 0xd800 && v <= 0xdfff) {
        *reason = "UTF-16 surrogate code point";
        return 0;
    }
    if (v > 0x10ffff) {
        *reason = "code point above U+10FFFF";
        return 0;
    }
    *cp = v;
    return len;
}

/* Byte-level rules shared by names and prefixes. */
static int check_chars(const char *what, const char *p, size_t len, char *why, size_t whylen)
{
    const unsigned char *s = (const unsigned char *)p;
    if (len > VAULT_NAME_MAX) {
        WHY("%s is %zu bytes long; the limit is %d bytes", what, len, VAULT_NAME_MAX);
        return TV_ERR_TOO_LARGE;
    }
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        const char *reason = "invalid";
        size_t k = utf8_next(s + i, len - i, &cp, &reason);
        if (k == 0) {
            WHY("%s is not valid UTF-8 at byte %zu (%s)", what, i, reason);
            return TV_ERR_INVALID;
        }
        if (cp == 0) {
            WHY("%s contains a NUL byte at byte %zu", what, i);
            return TV_ERR_INVALID;
        }
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
            WHY("%s contains control character U+%04X at byte %zu", what, (unsigned)cp, i);
            return TV_ERR_INVALID;
        }
        i += k;
    }
    return 0;
}

/* Segment rules for the segment s[start..end). */
static int check_segment(const char *what, const char *s, size_t start, size_t end, char *why,
                         size_t whylen)
{
    size_t n = end - start;
    if (n == 0) {
        if (start == 0)
            WHY("%s starts with '/' (empty first segment)", what);
        else
            WHY("%s has an empty segment at byte %zu (doubled or trailing '/')", what, start);
        return TV_ERR_INVALID;
    }
    if (n == 1 && s[start] == '.') {
        WHY("%s has a '.' segment at byte %zu", what, start);
        return TV_ERR_INVALID;
    }
    if (n == 2 && s[start] == '.' && s[start + 1] == '.') {
        WHY("%s has a '..' segment at byte %zu", what, start);
        return TV_ERR_INVALID;
    }
    return 0;
}

int vault_name_check(const char *name, size_t len, char *why, size_t whylen)
{
    int r;
    if (why && whylen)
        why[0] = '\0';
    if (!name || len == 0) {
        WHY("name is empty");
        return TV_ERR_INVALID;
    }
    if ((r = check_chars("name", name, len, why, whylen)) < 0)
        return r;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '/') {
            if (i == len && i == start && start > 0) {
                WHY("name ends with '/' (empty last segment)");
                return TV_ERR_INVALID;
            }
            if ((r = check_segment("name", name, start, i, why, whylen)) < 0)
                return r;
            start = i + 1;
        }
    }
    return 0;
}

int vault_prefix_check(const char *prefix, size_t len, char *why, size_t whylen)
{
    int r;
    if (why && whylen)
        why[0] = '\0';
    if (len == 0)
        return 0;
    if ((r = check_chars("prefix", prefix, len, why, whylen)) < 0)
        return r;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (prefix[i] == '/') {
            if ((r = check_segment("prefix", prefix, start, i, why, whylen)) < 0)
                return r;
            start = i + 1;
        }
    }
    return 0;
}
