/* commit_request.h: what a commit request written to an object may say, checked. */
#ifndef OCFLFS_COMMIT_REQUEST_H
#define OCFLFS_COMMIT_REQUEST_H

#include <stddef.h>

#include "err.h"

/* A parsed request; strings malloc'd (journal_commit_request_release). */
struct journal_commit_request {
    char *message;      /* never NULL or empty once parsed */
    char *user_name;    /* the user the request names, or NULL (the caller's identity) */
    char *user_address; /* with user_name: its address, or NULL (none) */
    int rebase;         /* apply the staged changes over a head another tool wrote */
};

/*
 * Parse a commit request of @len bytes: plain text is the message (trailing white space
 * dropped); text starting with '{' is a JSON object with exactly these members: "message"
 * (a non-empty string, required), "user" (an object of "name", a non-empty string, and
 * optionally "address", a URI), "rebase" (true or false).  A request that names a user
 * names the whole user: an address is never taken from elsewhere.  0, or -EINVAL with a
 * message that names the field (an unknown key, a wrong type, an empty message, an address
 * that is not a URI, JSON that does not parse); -ENOMEM.
 */
int journal_commit_request_parse(const char *text, size_t len, struct journal_commit_request *req,
                                 struct ocfl_err *err);
void journal_commit_request_release(struct journal_commit_request *req);

#endif
