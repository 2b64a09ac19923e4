/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tv_keypool: small secret slots (session keys) in guarded, locked memory,
 * allocated a page at a time (one sodium_malloc per 64 slots) so that an
 * attestation costs no mmap/mprotect/mlock of its own. Not installed.
 *
 * A pool is reference counted: the client holds one reference and every
 * slot handed out holds one, so a session freed after its client (which the
 * API forbids, but a caller may do) still returns its slot to live memory.
 * Thread-safe (one mutex): sessions of one client may be freed on another
 * thread.
 */
#ifndef TV_KEYPOOL_H
#define TV_KEYPOOL_H

#include <stdint.h>

#define TV_KEYPOOL_SLOT 64 /* bytes per slot */

typedef struct tv_keypool tv_keypool;

/* A new pool with one reference (the caller's), or NULL (out of memory). */
tv_keypool *tv_keypool_new(void);

/* Drop a reference; the last one frees the pool (its pages are wiped by
 * sodium_free). NULL ok. */
void tv_keypool_unref(tv_keypool *p);

/* A zeroed slot of TV_KEYPOOL_SLOT bytes, holding a reference on p until
 * tv_keypool_put. NULL when out of memory. */
uint8_t *tv_keypool_get(tv_keypool *p);

/* Wipe slot k (from tv_keypool_get on p) and return it; drops its
 * reference (may free p). NULL k ok. */
void tv_keypool_put(tv_keypool *p, uint8_t *k);

#endif
