/* web_url.h: what comes in a URL, decoded and checked as untrusted input. */
#ifndef OCFLFS_WEB_URL_H
#define OCFLFS_WEB_URL_H

#include <stddef.h>

/* The longest decoded value accepted (an id, a logical path, a search). */
#define WEB_VALUE_MAX 4096

/*
 * Decode @len bytes of @in (percent escapes; with @plus, "+" as a space, as in a query
 * string) into a malloc'd NUL-terminated *ret.  -EINVAL for a bad escape, an encoded NUL,
 * bytes that are not UTF-8 (overlong forms and surrogates included) or control characters;
 * -E2BIG when longer than WEB_VALUE_MAX; -ENOMEM.  *ret untouched on failure.
 */
int web_url_decode(const char *in, size_t len, int plus, char **ret);

/* Whether the @len bytes at @s are UTF-8 as RFC 3629 has it: 1 or 0. */
int web_utf8_valid(const char *s, size_t len);

/*
 * Whether @path (relative, as an object's path in its root) stays inside the root and out
 * of the state directory: no empty, "." or ".." segment, not absolute, not under
 * "extensions/" (where the state directory lives by default) and not under @state_rel (the
 * state directory relative to the root, or NULL).  1 or 0.
 */
int web_object_path_ok(const char *path, const char *state_rel);

/*
 * Whether the Host header @host names the loopback listener at @url ("http://H:P/"): one of
 * 127.0.0.1:P, localhost:P, [::1]:P or H:P (ASCII case ignored; the port may be left out
 * when P is 80).  Against DNS rebinding: a page of another site that a browser sends to
 * the loopback address names that site in Host.  NULL @host (no header) is 0.  1 or 0.
 */
int web_host_ok(const char *host, const char *url);

#endif
