/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz audit_journal_replay: the journal file is on the host's disk, so a
 * start-up must survive any bytes in it (torn, truncated, forged frames).
 * Input: u64 head_seq | 32-byte head hash | the journal file's bytes (in a
 * memfd, reached through its /proc/self/fd path like any file). The MAC key
 * is fixed (all 0x11 bytes), so the fuzzer can reach frames that verify
 * only by finding a MAC, like an attacker without the key; seeds made with
 * the key cover the verified paths. Every record passed on must continue the
 * chain: consecutive seqs after head_seq, each value's chain hash
 * recomputes (audit_value_check), prev_hash = the hash before. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "proto_buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct chain {
    uint64_t next;
    uint8_t hash[AUDIT_HASH_LEN];
    int stop_at; /* the callback's error after this many records (0: never) */
    int seen;
} chain;

static int on_record(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
    chain *c = arg;
    if (seq != c->next || audit_value_check(val, len, seq, c->hash, c->hash) != 0)
        __builtin_trap();
    c->next++;
    if (++c->seen == c->stop_at)
        return TV_ERR_STORAGE_FULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t head_hash[AUDIT_HASH_LEN];
    uint64_t head = 0;
    char path[64];
    audit_journal *j = NULL;
    chain c;
    int fd, r;

    if (sodium_init() < 0)
        __builtin_trap();
    if (size < 8 + AUDIT_HASH_LEN)
        return 0;
    head = proto_be64(data);
    memcpy(head_hash, data + 8, AUDIT_HASH_LEN);
    data += 8 + AUDIT_HASH_LEN;
    size -= 8 + AUDIT_HASH_LEN;
    if ((fd = memfd_create("journal", MFD_CLOEXEC)) < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    static const uint8_t key[AUDIT_JOURNAL_KEY_LEN] = {
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
    if (audit_journal_open(path, &j) == 0) {
        audit_journal_report rep;
        if (audit_journal_pending(j, head) < 0 || audit_journal_set_key(j, key) != 0)
            __builtin_trap();
        memset(&c, 0, sizeof(c));
        c.next = head + 1;
        memcpy(c.hash, head_hash, AUDIT_HASH_LEN);
        c.stop_at = (int)(head_hash[0] % 4); /* sometimes the callback refuses */
        r = audit_journal_replay(j, head, head_hash, on_record, &c, &rep);
        if (r >= 0 && r != c.seen)
            __builtin_trap(); /* the count returned is the count passed on */
        if (r < 0 && r != TV_ERR_STORAGE_FULL && r != TV_ERR_NOMEM && r != TV_ERR_IO &&
            r != TV_ERR_INTEGRITY)
            __builtin_trap();
        if (r >= 0 && audit_journal_used(j) > size)
            __builtin_trap(); /* the next append goes inside the file */
        audit_journal_close(j);
    }
    close(fd);
    return 0;
}
