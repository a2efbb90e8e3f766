/* jsonbuf.h: a growing buffer of JSON text, optionally digested on a second thread as it grows. */
#ifndef OCFL_JSONBUF_H
#define OCFL_JSONBUF_H

#include <stddef.h>
#include <string.h>

#include "digest.h"

/*
 * Not a public contract: the serializer's output (inventory_serialize.c).
 * Zero-initialised it is empty.  Writes never fail one by one: an
 * allocation failure sets @oom, later writes do nothing, and the writer
 * checks @oom once at the end.  The buffer always has room for a NUL after
 * @len (not written until the writer puts it).  The writer owns @buf (free()).
 */
struct ocfl_jbuf {
    char *buf;
    size_t len, alloc;
    int oom;
    size_t published;            /* bytes handed to the digest thread */
    struct ocfl_jbuf_feed *feed; /* NULL: no digest thread */
};

/* Bytes handed to the digest thread at a time. */
#define OCFL_JBUF_FEED_STEP (256u * 1024)

/* Make room for @n more bytes (and the NUL): 1, or 0 with @oom set.  Use ocfl_jbuf_room(). */
int ocfl_jbuf_grow(struct ocfl_jbuf *b, size_t n);

/* Room for @n more bytes (and the NUL): 1, or 0 after an allocation failure. */
static inline int ocfl_jbuf_room(struct ocfl_jbuf *b, size_t n)
{
    return b->len + n < b->alloc || ocfl_jbuf_grow(b, n);
}

/* Append @n bytes as they are. */
static inline void ocfl_jbuf_put(struct ocfl_jbuf *b, const char *s, size_t n)
{
    if (!ocfl_jbuf_room(b, n))
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

/* Append the NUL-terminated @s as it is. */
void ocfl_jbuf_puts(struct ocfl_jbuf *b, const char *s);

/* A newline and two spaces per @level. */
void ocfl_jbuf_indent(struct ocfl_jbuf *b, int level);

/* @s as a JSON string: '"', '\\' and control characters escaped, other UTF-8 as it is. */
void ocfl_jbuf_str(struct ocfl_jbuf *b, const char *s);

/*
 * One line of a block: "," when @comma, a newline, indentation for @level,
 * @s as a JSON string, then the @after_len bytes of @after (": ", ": [", "").
 */
void ocfl_jbuf_item(struct ocfl_jbuf *b, int comma, int level, const char *s, const char *after,
                    size_t after_len);

/*
 * Start digesting the bytes with @h on a second thread as they are written
 * (@h is the thread's until ocfl_jbuf_digest_finish).  0, or a negative
 * errno when no thread could be started (then nothing changed: digest the
 * bytes afterwards).
 */
int ocfl_jbuf_digest_start(struct ocfl_jbuf *b, struct ocfl_hasher *h);

void ocfl_jbuf_publish_now(struct ocfl_jbuf *b);

/* Hand what was written to the digest thread when there is enough of it (cheap to call often). */
static inline void ocfl_jbuf_publish(struct ocfl_jbuf *b)
{
    if (b->feed && b->len - b->published >= OCFL_JBUF_FEED_STEP)
        ocfl_jbuf_publish_now(b);
}

/*
 * End the digest thread: it digests everything written (only what was
 * already published when @oom is set) and is joined.  Nothing when no
 * thread was started.
 */
void ocfl_jbuf_digest_finish(struct ocfl_jbuf *b);

#endif
