/* audit_journal: the audit writer's preallocated append-only journal (audit.h). */
#define _GNU_SOURCE
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "proto_buf.h"

#define J_MAGIC "TVAJ"
#define J_HDR   (4 + 4 + 8 + 4)
#define J_SUM   32

struct audit_journal {
    int fd;
    size_t size; /* bytes allocated */
    size_t off;  /* next frame goes here */
};

static int io_err(int e)
{
    return (e == ENOSPC || e == EDQUOT) ? TV_ERR_STORAGE_FULL : TV_ERR_IO;
}

static int write_all(int fd, const uint8_t *p, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return io_err(errno);
        }
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return TV_OK;
}

/* Allocate real blocks up to size by writing zeros (not fallocate: unwritten
 * extents would turn every later flush into a metadata commit). */
static int preallocate(int fd, size_t from, size_t size)
{
    static const uint8_t zeros[65536];
    int r;
    while (from < size) {
        size_t n = size - from < sizeof(zeros) ? size - from : sizeof(zeros);
        if ((r = write_all(fd, zeros, n, (off_t)from)) < 0)
            return r;
        from += n;
    }
    return fsync(fd) == 0 ? TV_OK : io_err(errno);
}

int audit_journal_open(const char *path, audit_journal **out)
{
    int fd;
    struct stat st;
    audit_journal *j;

    if (!path || !out)
        return TV_ERR_INVALID;
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return io_err(errno);
    if (fstat(fd, &st) < 0 || !(j = calloc(1, sizeof(*j)))) {
        close(fd);
        return TV_ERR_IO;
    }
    j->fd = fd;
    j->size = (size_t)st.st_size;
    *out = j;
    return TV_OK;
}

int audit_journal_reserve(audit_journal *j, const char *path, size_t size)
{
    int r;
    if (!j)
        return TV_ERR_INVALID;
    if (j->size >= size)
        return TV_OK;
    if ((r = preallocate(j->fd, j->size, size)) < 0)
        return r;
    j->size = size;
    /* A new file's directory entry must survive a crash too. */
    char *dir = path ? strdup(path) : NULL, *slash;
    if (dir && (slash = strrchr(dir, '/'))) {
        *slash = '\0';
        int dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    free(dir);
    return TV_OK;
}

void audit_journal_close(audit_journal *j)
{
    if (!j)
        return;
    close(j->fd);
    free(j);
}

size_t audit_journal_used(const audit_journal *j)
{
    return j ? j->off : 0;
}

size_t audit_journal_size(const audit_journal *j)
{
    return j ? j->size : 0;
}

void audit_journal_reset(audit_journal *j)
{
    if (j)
        j->off = 0;
}

int audit_journal_append(audit_journal *j, uint64_t first_seq, uint32_t count, const uint8_t *vals,
                         size_t len)
{
    int r;
    size_t total = J_HDR + len + J_SUM;
    uint8_t *f;

    if (!j || (!vals && len) || count == 0 || len > UINT32_MAX)
        return TV_ERR_INVALID;
    if (total > j->size - j->off)
        return TV_ERR_STORAGE_FULL;
    if (!(f = malloc(total)))
        return TV_ERR_NOMEM;
    memcpy(f, J_MAGIC, 4);
    proto_put_be32(f + 4, (uint32_t)len);
    proto_put_be64(f + 8, first_seq);
    proto_put_be32(f + 16, count);
    memcpy(f + J_HDR, vals, len);
    crypto_generichash(f + J_HDR + len, J_SUM, f, J_HDR + len, NULL, 0);
    r = write_all(j->fd, f, total, (off_t)j->off);
    free(f);
    if (r < 0)
        return r;
    if (fdatasync(j->fd) < 0)
        return io_err(errno);
    j->off += total;
    return TV_OK;
}

int audit_journal_replay(audit_journal *j, uint64_t head_seq,
                         const uint8_t head_hash[AUDIT_HASH_LEN], audit_journal_cb cb, void *arg)
{
    int r = TV_OK, n = 0;
    uint8_t hdr[J_HDR], sum[J_SUM], hash[AUDIT_HASH_LEN];
    uint8_t *f = NULL;
    size_t off = 0;

    if (!j || !cb)
        return TV_ERR_INVALID;
    memcpy(hash, head_hash, AUDIT_HASH_LEN);
    for (;;) {
        ssize_t got = pread(j->fd, hdr, J_HDR, (off_t)off);
        if (got != J_HDR || memcmp(hdr, J_MAGIC, 4) != 0)
            break;
        size_t len = proto_be32(hdr + 4);
        uint64_t first = proto_be64(hdr + 8);
        uint32_t count = proto_be32(hdr + 16);
        /* got == J_HDR, so off + J_HDR <= the size read at open unless the
         * file shrank since; a frame running past the end is torn. */
        size_t room = j->size > off ? j->size - off : 0;
        if (first != head_seq + 1 || count == 0 || room < J_HDR + J_SUM ||
            len > room - J_HDR - J_SUM)
            break;
        uint8_t *nf = realloc(f, J_HDR + len + J_SUM);
        if (!nf) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        f = nf;
        got = pread(j->fd, f, J_HDR + len + J_SUM, (off_t)off);
        if (got < 0) {
            r = TV_ERR_IO;
            goto out;
        }
        if (got != (ssize_t)(J_HDR + len + J_SUM))
            break; /* the file is shorter than its size at open: torn */
        crypto_generichash(sum, J_SUM, f, J_HDR + len, NULL, 0);
        if (sodium_memcmp(sum, f + J_HDR + len, J_SUM) != 0)
            break; /* torn: its records were never acknowledged */
        /* Check the whole frame continues the chain before replaying any of it. */
        proto_buf b;
        uint8_t h[AUDIT_HASH_LEN];
        int ok = 1;
        memcpy(h, hash, AUDIT_HASH_LEN);
        proto_buf_wrap(&b, f + J_HDR, len);
        for (uint32_t i = 0; i < count && ok; i++) {
            const uint8_t *v;
            size_t vl;
            if (proto_buf_get_lv(&b, &v, &vl) < 0 || vl < 2 * AUDIT_HASH_LEN) {
                ok = 0;
                break;
            }
            ok = sodium_memcmp(v + vl - 2 * AUDIT_HASH_LEN, h, AUDIT_HASH_LEN) == 0;
            memcpy(h, v + vl - AUDIT_HASH_LEN, AUDIT_HASH_LEN);
        }
        if (!ok || proto_buf_avail(&b) != 0)
            break;
        proto_buf_wrap(&b, f + J_HDR, len);
        for (uint32_t i = 0; i < count; i++) {
            const uint8_t *v;
            size_t vl;
            if (proto_buf_get_lv(&b, &v, &vl) < 0) /* checked above */
                break;
            if ((r = cb(arg, first + i, v, vl)) != 0)
                goto out;
            n++;
        }
        memcpy(hash, h, AUDIT_HASH_LEN);
        head_seq = first + count - 1;
        off += J_HDR + len + J_SUM;
    }
    j->off = off;
    r = n;
out:
    free(f);
    return r;
}
