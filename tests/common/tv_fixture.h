/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixtures and helpers shared by the unit tests (tests/unit/test_*.c files): one copy
 * of each instead of a private one per test file. Header-only (static
 * inline), like tv_test.h; tests/CMakeLists.txt puts tests/common on every
 * unit test's include path.
 *
 *   tv_test_skip(fmt, ...)       print "SKIP: ..." and return TV_TEST_SKIP
 *                                (77: ctest's SKIP_RETURN_CODE for every
 *                                test, so a skipped test is reported as
 *                                skipped, never as passed)
 *   tv_test_shared(rel, buf, n)  path of rel under $TV_SHARED (ctest sets
 *                                it; default ../shared) if it exists
 *   tv_fx_tmpdir(tag, buf, n)    a fresh 0700 directory /tmp/tv-test-<tag>-XXXXXX
 *   tv_fx_rmtree(dir)            remove it and everything below (no shell)
 *   tv_fx_write(path, p, n, mode) create/replace a file with exactly p[0, n)
 */
#ifndef TV_FIXTURE_H
#define TV_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TV_TEST_SKIP 77

__attribute__((format(printf, 1, 2))) static inline int tv_test_skip(const char *fmt, ...)
{
    va_list ap;
    fputs("SKIP: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    return TV_TEST_SKIP;
}

static inline const char *tv_test_shared(const char *rel, char *buf, size_t n)
{
    const char *base = getenv("TV_SHARED");
    struct stat st;
    if (!base || !*base)
        base = "../shared";
    if (snprintf(buf, n, "%s/%s", base, rel) >= (int)n || stat(buf, &st) != 0)
        return NULL;
    return buf;
}

static inline const char *tv_fx_tmpdir(const char *tag, char *buf, size_t n)
{
    if (snprintf(buf, n, "/tmp/tv-test-%s-XXXXXX", tag) >= (int)n || !mkdtemp(buf)) {
        perror("tv_fx_tmpdir");
        exit(2);
    }
    return buf;
}

static inline void tv_fx_rmtree(const char *dir)
{
    DIR *d;
    struct dirent *e;
    struct stat st;
    char p[4096];
    if (!dir || !*dir || lstat(dir, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        (void)unlink(dir);
        return;
    }
    if ((d = opendir(dir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p))
                tv_fx_rmtree(p); /* lstat: symlinks are removed, not followed */
        }
        closedir(d);
    }
    (void)rmdir(dir);
}

static inline int tv_fx_write(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    const unsigned char *c = p;
    if (fd < 0)
        return -1;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    if (fchmod(fd, mode) != 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

#endif
