/* web_listen.h: the listening socket for an address as the user writes it. */
#ifndef OCFLFS_WEB_LISTEN_H
#define OCFLFS_WEB_LISTEN_H

#include <stddef.h>

#include "err.h"

/*
 * Bind and listen on @addr ("HOST:PORT", "[V6]:PORT", "PORT", "unix:PATH"; NULL =
 * "127.0.0.1:8080").  Returns the socket (close-on-exec), its URL in @url ("http://H:P/"
 * with the port really bound, or "unix:PATH"), *ret_remote (1 when other hosts can reach
 * it), *ret_unix (the socket's path, malloc'd, to unlink at the end; NULL for TCP).
 * -EINVAL for an address that cannot be parsed, a negative errno from socket/bind/listen
 * with a message naming the address.  An existing Unix socket at PATH is -EADDRINUSE.
 */
int web_listen(const char *addr, char *url, size_t url_size, int *ret_remote, char **ret_unix,
               struct ocfl_err *err);

#endif
