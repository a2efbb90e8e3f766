/* utf8.h: cutting and cleaning UTF-8 text that came from disk or from a client. */
#ifndef OCFL_UTF8_H
#define OCFL_UTF8_H

#include <stddef.h>

#include <jansson.h>

/*
 * The length of the longest prefix of @s (NUL-terminated) that is at most @max bytes and
 * does not end inside a UTF-8 sequence: for "%.*s" or a cut buffer.  Bytes that are not
 * UTF-8 are counted as they are (the cut only backs off over continuation bytes, at most 3).
 */
size_t ocfl_utf8_prefix(const char *s, size_t max);

/*
 * A JSON string of @s with every byte that is not part of valid UTF-8 (RFC 3629: no
 * overlong forms, no surrogates) replaced by U+FFFD; JSON null for NULL @s.  A new
 * reference, NULL only when out of memory.  For text from disk (a journal's stored error,
 * an inventory's message or user), which json_string() would refuse.
 */
json_t *ocfl_json_string_lossy(const char *s);

#endif
