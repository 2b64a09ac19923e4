/* SPDX-License-Identifier: Apache-2.0 */
/* audit_journal: the audit writer's preallocated append-only journal (audit.h). */
#define _GNU_SOURCE
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "proto_buf.h"

/* Format 2: the trailer is a MAC (keyed BLAKE2b-256) under a key derived
 * from the root key. Format-1 frames ("TVAJ", unkeyed) are never replayed. */
#define J_MAGIC "TVJ2"
#define J_HDR   (4 + 4 + 8 + 4)
#define J_SUM   32

struct audit_journal {
    int fd;
    size_t size;   /* bytes allocated */
    size_t off;    /* next frame goes here */
    uint8_t *key;  /* sodium_malloc'd MAC key, NULL until set */
    size_t budget; /* bytes replay may still MAC (bounds a hostile file's cost) */
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
    sodium_free(j->key); /* wipes */
    free(j);
}

int audit_journal_set_key(audit_journal *j, const uint8_t key[AUDIT_JOURNAL_KEY_LEN])
{
    if (!j || !key)
        return TV_ERR_INVALID;
    if (!j->key && !(j->key = sodium_malloc(AUDIT_JOURNAL_KEY_LEN)))
        return TV_ERR_NOMEM;
    sodium_mprotect_readwrite(j->key);
    memcpy(j->key, key, AUDIT_JOURNAL_KEY_LEN);
    sodium_mprotect_readonly(j->key);
    return TV_OK;
}

int audit_journal_has_key(const audit_journal *j)
{
    return j && j->key != NULL;
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

static void frame_mac(const audit_journal *j, const uint8_t *f, size_t n, uint8_t out[J_SUM])
{
    crypto_generichash(out, J_SUM, f, n, j->key, AUDIT_JOURNAL_KEY_LEN);
}

int audit_journal_append(audit_journal *j, uint64_t first_seq, uint32_t count, const uint8_t *vals,
                         size_t len)
{
    int r;
    size_t total = J_HDR + len + J_SUM;
    uint8_t *f;

    if (!j || (!vals && len) || count == 0 || len > UINT32_MAX)
        return TV_ERR_INVALID;
    if (!j->key)
        return TV_ERR_NOT_INITIALISED;
    if (total > j->size - j->off)
        return TV_ERR_STORAGE_FULL;
    if (!(f = malloc(total)))
        return TV_ERR_NOMEM;
    memcpy(f, J_MAGIC, 4);
    proto_put_be32(f + 4, (uint32_t)len);
    proto_put_be64(f + 8, first_seq);
    proto_put_be32(f + 16, count);
    memcpy(f + J_HDR, vals, len);
    frame_mac(j, f, J_HDR + len, f + J_HDR + len);
    r = write_all(j->fd, f, total, (off_t)j->off);
    free(f);
    if (r < 0)
        return r;
    if (fdatasync(j->fd) < 0)
        return io_err(errno);
    j->off += total;
    return TV_OK;
}

/* One frame as found at an offset. */
enum { FR_NONE, FR_BAD, FR_OK };
typedef struct jframe {
    int kind;       /* FR_NONE: no frame header; FR_BAD: header, but torn / MAC fails */
    uint64_t first; /* from the header (FR_BAD, FR_OK) */
    uint32_t count;
    size_t len;   /* payload bytes */
    uint8_t *buf; /* FR_OK: the whole frame (reused across calls) */
    size_t cap;
} jframe;

static size_t frame_total(const jframe *fr)
{
    return J_HDR + fr->len + J_SUM;
}

/* Read the frame at off. Its MAC is checked only with mac_check and when
 * its first seq is above `above` (otherwise kind FR_BAD means "a header").
 * Returns 0, TV_ERR_IO, TV_ERR_NOMEM, or TV_ERR_INTEGRITY when the file
 * holds more would-be frames than the MAC budget allows. */
static int read_frame(audit_journal *j, size_t off, int mac_check, uint64_t above, jframe *fr)
{
    uint8_t hdr[J_HDR], sum[J_SUM];
    ssize_t got;

    fr->kind = FR_NONE;
    if (j->size < J_HDR || off > j->size - J_HDR)
        return TV_OK;
    got = pread(j->fd, hdr, J_HDR, (off_t)off);
    if (got < 0)
        return TV_ERR_IO;
    if (got != J_HDR || memcmp(hdr, J_MAGIC, 4) != 0)
        return TV_OK;
    fr->kind = FR_BAD;
    fr->len = proto_be32(hdr + 4);
    fr->first = proto_be64(hdr + 8);
    fr->count = proto_be32(hdr + 16);
    if (!mac_check || !j->key || fr->first <= above)
        return TV_OK;
    /* A frame running past the end of the file is torn. */
    size_t room = j->size - off;
    if (fr->count == 0 || room < J_HDR + J_SUM || fr->len > room - J_HDR - J_SUM)
        return TV_OK;
    if (frame_total(fr) > j->budget)
        return TV_ERR_INTEGRITY;
    j->budget -= frame_total(fr);
    if (fr->cap < frame_total(fr)) {
        uint8_t *nb = realloc(fr->buf, frame_total(fr));
        if (!nb)
            return TV_ERR_NOMEM;
        fr->buf = nb;
        fr->cap = frame_total(fr);
    }
    got = pread(j->fd, fr->buf, frame_total(fr), (off_t)off);
    if (got < 0)
        return TV_ERR_IO;
    if (got != (ssize_t)frame_total(fr))
        return TV_OK; /* the file is shorter than its size at open: torn */
    frame_mac(j, fr->buf, J_HDR + fr->len, sum);
    if (sodium_memcmp(sum, fr->buf + J_HDR + fr->len, J_SUM) == 0)
        fr->kind = FR_OK;
    return TV_OK;
}

static void report(audit_journal_report *rep, size_t off, uint64_t seq, const char *why)
{
    if (!rep)
        return;
    rep->off = off;
    rep->seq = seq;
    snprintf(rep->reason, sizeof(rep->reason), "%s", why);
}

/* Look for a frame header at any offset in [from, size) that satisfies
 * want(): with check_mac, only frames whose MAC verifies count. The magic
 * may also occur inside a payload; a MAC never verifies there. Returns 1 and
 * *at / *fr when found, 0 when not, or an error. */
static int scan(audit_journal *j, size_t from, uint64_t above, int check_mac, jframe *fr,
                size_t *at)
{
    uint8_t chunk[65536];
    size_t pos = from;
    int r;

    while (j->size >= J_HDR && pos <= j->size - J_HDR) {
        size_t n = j->size - pos < sizeof(chunk) ? j->size - pos : sizeof(chunk);
        ssize_t got = pread(j->fd, chunk, n, (off_t)pos);
        if (got < 0)
            return TV_ERR_IO;
        if (got < 4)
            break;
        for (size_t i = 0; i + 4 <= (size_t)got; i++) {
            const uint8_t *m = memchr(chunk + i, J_MAGIC[0], (size_t)got - i - 3);
            if (!m)
                break;
            i = (size_t)(m - chunk);
            if (memcmp(m, J_MAGIC, 4) != 0)
                continue;
            if ((r = read_frame(j, pos + i, check_mac, above, fr)) < 0)
                return r;
            /* Without the MAC, a frame counts when any of its records is
             * above: a frame that straddles the head is not a stale one. */
            if (check_mac
                    ? fr->kind == FR_OK && fr->first > above
                    : fr->kind != FR_NONE && fr->count > 0 && fr->first + (fr->count - 1) > above) {
                *at = pos + i;
                return 1;
            }
        }
        if ((size_t)got < n || pos + (size_t)got >= j->size)
            break;
        pos += (size_t)got - 3; /* a magic across the chunk boundary */
    }
    return 0;
}

/* Check every record of the verified frame fr (at off) continues the chain
 * after (*seq, hash); advance them. */
static int check_frame(const jframe *fr, size_t off, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN],
                       audit_journal_report *rep)
{
    proto_buf b;
    uint64_t s = *seq;
    uint8_t h[AUDIT_HASH_LEN];
    char why[160];

    memcpy(h, hash, AUDIT_HASH_LEN);
    proto_buf_wrap(&b, fr->buf + J_HDR, fr->len);
    for (uint32_t i = 0; i < fr->count; i++) {
        const uint8_t *v;
        size_t vl;
        if (proto_buf_get_lv(&b, &v, &vl) < 0 || audit_value_check(v, vl, s + 1, h, h) < 0) {
            snprintf(why, sizeof(why),
                     "record %u of the frame (seq %llu) does not recompute onto the chain", i + 1,
                     (unsigned long long)(s + 1));
            report(rep, off, s + 1, why);
            return TV_ERR_INTEGRITY;
        }
        s++;
    }
    if (proto_buf_avail(&b) != 0) {
        report(rep, off, fr->first, "bytes after the frame's last record");
        return TV_ERR_INTEGRITY;
    }
    *seq = s;
    memcpy(hash, h, AUDIT_HASH_LEN);
    return TV_OK;
}

int audit_journal_replay(audit_journal *j, uint64_t head_seq,
                         const uint8_t head_hash[AUDIT_HASH_LEN], audit_journal_cb cb, void *arg,
                         audit_journal_report *rep)
{
    int r = TV_OK, n = 0;
    uint8_t hash[AUDIT_HASH_LEN];
    jframe fr, later;
    size_t off = 0, at = 0;
    uint64_t seq = head_seq;
    char why[200];

    if (!j || !cb)
        return TV_ERR_INVALID;
    if (!j->key)
        return TV_ERR_NOT_INITIALISED;
    memset(&fr, 0, sizeof(fr));
    memset(&later, 0, sizeof(later));
    if (rep)
        memset(rep, 0, sizeof(*rep));
    memcpy(hash, head_hash, AUDIT_HASH_LEN);
    /* Legitimate frames never overlap, so checking them all costs at most
     * the file's size once; a file of overlapping forged headers gets 8x. */
    j->budget = 8 * j->size + 65536;
    for (;;) {
        if ((r = read_frame(j, off, 1, seq, &fr)) < 0) {
            if (r == TV_ERR_INTEGRITY)
                report(rep, off, seq + 1, "too many would-be frames to check");
            goto out;
        }
        if (fr.kind != FR_OK || fr.first <= seq)
            break; /* the end: zeros, a torn frame, or stale frames from before a reset */
        if (fr.first != seq + 1) {
            snprintf(why, sizeof(why),
                     "frame with seq %llu..%llu follows seq %llu: records %llu..%llu are missing",
                     (unsigned long long)fr.first, (unsigned long long)(fr.first + fr.count - 1),
                     (unsigned long long)seq, (unsigned long long)(seq + 1),
                     (unsigned long long)(fr.first - 1));
            report(rep, off, fr.first, why);
            r = TV_ERR_INTEGRITY;
            goto out;
        }
        /* The whole frame is checked before any of it is passed on. */
        uint64_t s2 = seq;
        uint8_t h2[AUDIT_HASH_LEN];
        memcpy(h2, hash, AUDIT_HASH_LEN);
        if ((r = check_frame(&fr, off, &s2, h2, rep)) < 0)
            goto out;
        proto_buf b;
        proto_buf_wrap(&b, fr.buf + J_HDR, fr.len);
        for (uint32_t i = 0; i < fr.count; i++) {
            const uint8_t *v;
            size_t vl;
            if (proto_buf_get_lv(&b, &v, &vl) < 0) { /* checked above */
                r = TV_ERR_INTERNAL;
                goto out;
            }
            if ((r = cb(arg, seq + 1 + i, v, vl)) != 0)
                goto out;
            n++;
        }
        seq = s2;
        memcpy(hash, h2, AUDIT_HASH_LEN);
        off += frame_total(&fr);
    }
    /* Nothing after the end may verify and continue past it: a frame that
     * does means the ones before it were erased, altered or moved. */
    if ((r = scan(j, off + 1, seq, 1, &later, &at)) < 0) {
        if (r == TV_ERR_INTEGRITY)
            report(rep, off, seq + 1, "too many would-be frames to check");
        goto out;
    }
    if (r == 1) {
        snprintf(why, sizeof(why),
                 "a valid frame with seq %llu.. is at offset %zu, but the chain stops at seq %llu "
                 "(offset %zu): frames were erased, altered or reordered",
                 (unsigned long long)later.first, at, (unsigned long long)seq, off);
        report(rep, off, seq + 1, why);
        r = TV_ERR_INTEGRITY;
        goto out;
    }
    /* A frame header for the next seq that does not verify, with nothing
     * valid after it: the write that was under way when the daemon stopped
     * (never acknowledged), or a forgery. Its records are not replayed. */
    if (fr.kind == FR_BAD && fr.first == seq + 1 && rep) {
        rep->unverified = 1;
        report(rep, off, fr.first, "frame does not verify (torn write or forged); not replayed");
    }
    j->off = off;
    r = n;
out:
    free(fr.buf);
    free(later.buf);
    return r;
}

int audit_journal_pending(audit_journal *j, uint64_t head_seq)
{
    jframe fr;
    size_t at = 0;
    int r;
    if (!j)
        return TV_ERR_INVALID;
    memset(&fr, 0, sizeof(fr));
    r = scan(j, 0, head_seq, 0, &fr, &at);
    free(fr.buf);
    return r;
}
