/* web.h: a read-only web view of a storage root and its journal (HTML pages and a JSON API). */
#ifndef OCFLFS_WEB_H
#define OCFLFS_WEB_H

#include "err.h"

struct web;

struct web_options {
    const char *root;      /* the storage root's path */
    const char *state_dir; /* its state directory; NULL = ROOT/extensions/ocflfs */
    /* Where to listen: "HOST:PORT" ("127.0.0.1:8080", "[::1]:8080", port 0 = any free one),
     * "PORT" (on 127.0.0.1), or "unix:PATH" (a Unix socket, for a reverse proxy); NULL =
     * "127.0.0.1:8080". */
    const char *listen;
    unsigned max_connections; /* 0 = 64 */
    unsigned timeout_s;       /* an idle connection is closed after this; 0 = 30 */
};

/*
 * Open @o->root read-only and start serving on @o->listen: threads of its own answer every
 * connection (one each, at most max_connections; idle ones time out), so a slow client
 * holds nothing but its own thread.  Nothing is ever written into the root or the state
 * directory; the journal is read through its own read-only connections.  The listing of
 * objects comes from the journal's object index when it has rows, else from a walk of the
 * root in the background.  Returns 0 and *ret (web_stop), or -EINVAL (a bad address),
 * -EADDRINUSE and the like from bind(2), -ENODEV (no storage root), with a message.
 */
int web_start(const struct web_options *o, struct web **ret, struct ocfl_err *err);

/* The address served, as a URL ("http://127.0.0.1:8080/", "unix:/run/x.sock"). */
const char *web_url(const struct web *w);

/* Whether the address is reachable from other hosts (not loopback, not a Unix socket). */
int web_is_remote(const struct web *w);

/* Stop serving (waits for the connections' threads) and free @w.  NULL is fine. */
void web_stop(struct web *w);

#endif
