/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tv_keypool: secret slots in page-sized sodium_malloc chunks (contract in
 * tv_keypool.h).
 */
#include "tv_keypool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define SLOTS_PER_CHUNK 64 /* one bit each in chunk.free */

typedef struct chunk {
    uint8_t *mem;  /* SLOTS_PER_CHUNK * TV_KEYPOOL_SLOT bytes, sodium_malloc */
    uint64_t free; /* bit i set: slot i is free */
} chunk;

struct tv_keypool {
    pthread_mutex_t mu;
    size_t refs;
    chunk *chunks;
    size_t n, cap;
};

tv_keypool *tv_keypool_new(void)
{
    tv_keypool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->refs = 1;
    return p;
}

static void pool_free(tv_keypool *p)
{
    for (size_t i = 0; i < p->n; i++)
        sodium_free(p->chunks[i].mem); /* wipes */
    free(p->chunks);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void tv_keypool_unref(tv_keypool *p)
{
    size_t left;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    left = --p->refs;
    pthread_mutex_unlock(&p->mu);
    if (left == 0)
        pool_free(p);
}

uint8_t *tv_keypool_get(tv_keypool *p)
{
    uint8_t *k = NULL;
    size_t i;

    if (!p)
        return NULL;
    pthread_mutex_lock(&p->mu);
    for (i = 0; i < p->n && p->chunks[i].free == 0; i++)
        ;
    if (i == p->n) {
        uint8_t *mem;
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 4;
            chunk *c = realloc(p->chunks, cap * sizeof *c);
            if (!c)
                goto out;
            p->chunks = c;
            p->cap = cap;
        }
        if (!(mem = sodium_malloc((size_t)SLOTS_PER_CHUNK * TV_KEYPOOL_SLOT)))
            goto out;
        sodium_memzero(mem, (size_t)SLOTS_PER_CHUNK * TV_KEYPOOL_SLOT);
        p->chunks[p->n].mem = mem;
        p->chunks[p->n].free = ~(uint64_t)0;
        p->n++;
    }
    {
        chunk *c = &p->chunks[i];
        unsigned b = (unsigned)__builtin_ctzll(c->free);
        c->free &= ~((uint64_t)1 << b);
        k = c->mem + (size_t)b * TV_KEYPOOL_SLOT;
        p->refs++;
    }
out:
    pthread_mutex_unlock(&p->mu);
    return k;
}

void tv_keypool_put(tv_keypool *p, uint8_t *k)
{
    if (!p || !k)
        return;
    sodium_memzero(k, TV_KEYPOOL_SLOT);
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++) {
        chunk *c = &p->chunks[i];
        uintptr_t base = (uintptr_t)c->mem, at = (uintptr_t)k;
        if (at >= base && at - base < (uintptr_t)SLOTS_PER_CHUNK * TV_KEYPOOL_SLOT) {
            c->free |= (uint64_t)1 << ((at - base) / TV_KEYPOOL_SLOT);
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    tv_keypool_unref(p);
}
