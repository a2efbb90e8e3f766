/* strset.c: a hash set of borrowed C strings, for the inventory checker's lookups. */
#include "strset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A multiplicative hash over 8-byte words (digests and paths are long; FNV byte by byte is slow).
 */
static uint32_t hash_str(const char *s)
{
    size_t len = strlen(s), i = 0;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ len, w;

    for (; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    w = 0;
    memcpy(&w, s + i, len - i);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32));
}

/* Slot of @s (hash @h): where it is, or the empty slot where it would go. */
static size_t slot(const struct ocfl_strset *set, const char *s, uint32_t h)
{
    size_t mask = set->cap - 1, i = h & mask;

    while (set->keys[i] && (set->hashes[i] != h || strcmp(set->keys[i], s)))
        i = (i + 1) & mask;
    return i;
}

static int grow(struct ocfl_strset *set, size_t want)
{
    struct ocfl_strset bigger = {0};
    size_t cap = 16;

    while (cap < want * 2) {
        if (cap > SIZE_MAX / 4 / sizeof(*set->keys))
            return -ENOMEM;
        cap *= 2;
    }
    if (cap <= set->cap)
        return 0;
    bigger.keys = calloc(cap, sizeof(*bigger.keys));
    bigger.values = calloc(cap, sizeof(*bigger.values));
    bigger.hashes = calloc(cap, sizeof(*bigger.hashes));
    if (!bigger.keys || !bigger.values || !bigger.hashes) {
        ocfl_strset_release(&bigger);
        return -ENOMEM;
    }
    bigger.cap = cap;
    for (size_t i = 0; i < set->cap; i++) {
        if (set->keys[i]) {
            size_t j = slot(&bigger, set->keys[i], set->hashes[i]);
            bigger.keys[j] = set->keys[i];
            bigger.values[j] = set->values[i];
            bigger.hashes[j] = set->hashes[i];
        }
    }
    bigger.n = set->n;
    ocfl_strset_release(set);
    *set = bigger;
    return 0;
}

int ocfl_strset_reserve(struct ocfl_strset *set, size_t n)
{
    return grow(set, n);
}

int ocfl_strset_add(struct ocfl_strset *set, const char *s, unsigned value)
{
    uint32_t h = hash_str(s);
    size_t i;

    if ((set->n + 1) * 2 > set->cap && grow(set, set->n + 1 > 8 ? (set->n + 1) * 2 : 8) < 0)
        return -ENOMEM;
    i = slot(set, s, h);
    if (set->keys[i])
        return 0;
    set->keys[i] = s;
    set->values[i] = value;
    set->hashes[i] = h;
    set->n++;
    return 1;
}

int ocfl_strset_has(const struct ocfl_strset *set, const char *s, unsigned *ret_value)
{
    size_t i;

    if (!set->cap)
        return 0;
    i = slot(set, s, hash_str(s));
    if (!set->keys[i])
        return 0;
    if (ret_value)
        *ret_value = set->values[i];
    return 1;
}

void ocfl_strset_release(struct ocfl_strset *set)
{
    if (!set)
        return;
    free(set->keys);
    free(set->values);
    free(set->hashes);
    set->keys = NULL;
    set->values = NULL;
    set->hashes = NULL;
    set->n = set->cap = 0;
}
