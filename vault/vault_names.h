/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_names: secret name rules (issue 2, DESIGN.md §8).
 *
 * A name is 1..VAULT_NAME_MAX (512) bytes of valid UTF-8 (shortest form, no
 * UTF-16 surrogates, nothing above U+10FFFF), made of `/`-separated segments;
 * no segment is empty (no leading, trailing or doubled `/`), `.` or `..`; no
 * NUL or control character (C0 U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F).
 */
#ifndef VAULT_NAMES_H
#define VAULT_NAMES_H

#include <stddef.h>

#include "tv_err.h"

/* Check name (len bytes; need not be NUL-terminated; an embedded NUL is
 * refused). Returns 0, or TV_ERR_INVALID / TV_ERR_TOO_LARGE with a sentence
 * saying exactly what is wrong (and at which byte offset) written to why
 * (whylen bytes, always NUL-terminated when whylen > 0; why may be NULL). The
 * sentence never contains the name itself: quote it with vault_quote(). */
int vault_name_check(const char *name, size_t len, char *why, size_t whylen) TV_WUR;

/* Check a list prefix: empty is allowed (everything); otherwise the same byte
 * rules as a name, every complete segment (one followed by `/`) obeys the
 * segment rules, and the last (possibly partial) segment only the character
 * rules. Same returns as vault_name_check. */
int vault_prefix_check(const char *prefix, size_t len, char *why, size_t whylen) TV_WUR;

#endif
