/* SPDX-License-Identifier: Apache-2.0 */
/* vault_names: a table of bad names, each refused with its reason. */
#include <stdio.h>
#include <string.h>

#include "tv_test.h"
#include "vault_names.h"

struct bad {
    const char *name;
    size_t len; /* 0: strlen */
    int err;
    const char *reason; /* substring the message must contain */
};

static void test_bad_names(void)
{
    static char longname[600];
    memset(longname, 'a', 513);
    longname[513] = '\0';
    const struct bad table[] = {
        {"", 0, TV_ERR_INVALID, "name is empty"},
        {longname, 0, TV_ERR_TOO_LARGE, "513 bytes long; the limit is 512"},
        {"/abs", 0, TV_ERR_INVALID, "starts with '/'"},
        {"a//b", 0, TV_ERR_INVALID, "empty segment at byte 2"},
        {"a/b/", 0, TV_ERR_INVALID, "ends with '/'"},
        {"/", 0, TV_ERR_INVALID, "starts with '/'"},
        {".", 0, TV_ERR_INVALID, "'.' segment at byte 0"},
        {"a/./b", 0, TV_ERR_INVALID, "'.' segment at byte 2"},
        {"..", 0, TV_ERR_INVALID, "'..' segment at byte 0"},
        {"a/..", 0, TV_ERR_INVALID, "'..' segment at byte 2"},
        {"a\0b", 3, TV_ERR_INVALID, "NUL byte at byte 1"},
        {"a\nb", 0, TV_ERR_INVALID, "control character U+000A at byte 1"},
        {"tab\there", 0, TV_ERR_INVALID, "control character U+0009 at byte 3"},
        {"del\x7f", 0, TV_ERR_INVALID, "control character U+007F at byte 3"},
        {"c1\xc2\x85", 0, TV_ERR_INVALID, "control character U+0085 at byte 2"},
        {"\xc0\xaf", 0, TV_ERR_INVALID, "not valid UTF-8 at byte 0 (overlong encoding)"},
        {"x\xe0\x80\xaf", 0, TV_ERR_INVALID, "at byte 1 (overlong encoding)"},
        {"\xf0\x80\x80\xaf", 0, TV_ERR_INVALID, "overlong encoding"},
        {"\xed\xa0\x80", 0, TV_ERR_INVALID, "UTF-16 surrogate"},
        {"\xf4\x90\x80\x80", 0, TV_ERR_INVALID, "above U+10FFFF"},
        {"ab\x80", 0, TV_ERR_INVALID, "at byte 2 (unexpected continuation byte)"},
        {"\xff", 0, TV_ERR_INVALID, "never appears in UTF-8"},
        {"\xe2\x82", 0, TV_ERR_INVALID, "truncated multi-byte sequence"},
        {"\xe2\x28\xa1", 0, TV_ERR_INVALID, "truncated multi-byte sequence"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        char why[160] = "unset";
        size_t len = table[i].len ? table[i].len : strlen(table[i].name);
        int r = vault_name_check(table[i].name, len, why, sizeof(why));
        CHECK_EQ_INT(r, table[i].err);
        if (!strstr(why, table[i].reason)) {
            fprintf(stderr, "  case %zu: got \"%s\", want \"%s\"\n", i, why, table[i].reason);
            CHECK(0);
        }
    }
    /* A NULL why buffer is fine. */
    CHECK_EQ_INT(vault_name_check("a//b", 4, NULL, 0), TV_ERR_INVALID);
}

static void test_good_names(void)
{
    static char maxname[600];
    memset(maxname, 'a', 512);
    maxname[512] = '\0';
    const char *good[] = {"a",
                          "app/db/password",
                          "a.b/..c/.d/e..",
                          "with space/and-dash_under",
                          "caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x94\x91", /* café/€/🔑 */
                          "\xef\xbf\xbd",                              /* U+FFFD */
                          "\xf4\x8f\xbf\xbf",                          /* U+10FFFF */
                          maxname};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char why[160] = "";
        int r = vault_name_check(good[i], strlen(good[i]), why, sizeof(why));
        if (r != 0)
            fprintf(stderr, "  good name %zu refused: %s\n", i, why);
        CHECK_EQ_INT(r, 0);
    }
}

static void test_prefixes(void)
{
    char why[160];
    CHECK_EQ_INT(vault_prefix_check("", 0, why, sizeof(why)), 0);
    CHECK_EQ_INT(vault_prefix_check("app/", 4, why, sizeof(why)), 0);
    CHECK_EQ_INT(vault_prefix_check("app/d", 5, why, sizeof(why)), 0);
    CHECK_EQ_INT(vault_prefix_check("app/.", 5, why, sizeof(why)), 0); /* partial ".x" */
    CHECK_EQ_INT(vault_prefix_check("app//", 5, why, sizeof(why)), TV_ERR_INVALID);
    CHECK(strstr(why, "prefix has an empty segment") != NULL);
    CHECK_EQ_INT(vault_prefix_check("../", 3, why, sizeof(why)), TV_ERR_INVALID);
    CHECK(strstr(why, "'..' segment") != NULL);
    CHECK_EQ_INT(vault_prefix_check("/", 1, why, sizeof(why)), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_prefix_check("a\x01", 2, why, sizeof(why)), TV_ERR_INVALID);
    CHECK(strstr(why, "control character") != NULL);
}

int main(void)
{
    RUN(test_bad_names);
    RUN(test_good_names);
    RUN(test_prefixes);
    return tv_test_finish();
}
