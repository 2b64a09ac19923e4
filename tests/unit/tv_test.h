/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal test harness: CHECK records a failure and continues; the test
 * binary's main returns tv_test_finish(), non-zero when any check failed.
 */
#ifndef TV_TEST_H
#define TV_TEST_H

#include <stdio.h>
#include <string.h>

static int tv_test_failures;
static int tv_test_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        tv_test_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            tv_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        tv_test_checks++;                                                                          \
        if (_a != _b) {                                                                            \
            tv_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__,  \
                    #a, #b, _a, _b);                                                               \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int _before = tv_test_failures;                                                            \
        fn();                                                                                      \
        fprintf(stderr, "%s %s\n", tv_test_failures == _before ? "ok  " : "FAIL", #fn);            \
    } while (0)

static inline int tv_test_finish(void)
{
    fprintf(stderr, "%d checks, %d failed\n", tv_test_checks, tv_test_failures);
    return tv_test_failures ? 1 : 0;
}

#endif
