/* strset.h: a hash set of borrowed C strings (not a public contract). */
#ifndef OCFL_STRSET_H
#define OCFL_STRSET_H

#include <stddef.h>
#include <stdint.h>

/*
 * Open addressing over pointers the caller keeps alive (the set never copies
 * or frees a string).  Zero-initialised it is an empty set; release with
 * ocfl_strset_release().  Each string carries an unsigned value.
 */
struct ocfl_strset {
    const char **keys;
    unsigned *values;
    uint32_t *hashes; /* each key's hash, compared before the key */
    size_t n, cap;
};

/* Make room for @n strings in all (optional: the set grows by itself).  0 or -ENOMEM. */
int ocfl_strset_reserve(struct ocfl_strset *set, size_t n);

/* Add @s with @value: 1 when added, 0 when already there (value unchanged), -ENOMEM. */
int ocfl_strset_add(struct ocfl_strset *set, const char *s, unsigned value);

/* Whether @s is in the set; its value in *ret_value when it is (@ret_value may be NULL). */
int ocfl_strset_has(const struct ocfl_strset *set, const char *s, unsigned *ret_value);

void ocfl_strset_release(struct ocfl_strset *set);

#endif
