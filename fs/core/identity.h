/* identity.h: who a local user is, as a version's user block says it (name and address). */
#ifndef OCFLFS_IDENTITY_H
#define OCFLFS_IDENTITY_H

#include <sys/types.h>

#include "err.h"

/* The logins a site maps to names and addresses (a JSON file), or none. */
struct identity_map;

/*
 * Load a map file: a JSON object from login to {"name": ..., "address": ...} ("address"
 * optional, a URI), e.g. {"jdoe": {"name": "Jane Doe", "address": "mailto:jdoe@example.org"}}.
 * -EINVAL with the file and the login at fault; -errno when it cannot be read.
 */
int identity_map_load(const char *path, struct identity_map **ret, struct ocfl_err *err);
void identity_map_free(struct identity_map *map);

/*
 * Whether @tmpl is an address template: a URI once "{login}" and "{uid}" are replaced
 * (0, or -EINVAL naming it).
 */
int identity_template_check(const char *tmpl, struct ocfl_err *err);

/* A user as a version names it; strings malloc'd (identity_release). */
struct identity {
    uid_t uid;
    char *login;   /* the passwd name, or the number when there is no entry */
    char *name;    /* never NULL */
    char *address; /* NULL: none */
};

/*
 * Who @uid is: the entry of @map for its login when there is one; else the passwd entry's
 * full name (the GECOS field up to its first comma; the login when that is empty) and the
 * address @tmpl makes ("{login}" and "{uid}" replaced; NULL @tmpl: no address).  A uid
 * without a passwd entry is named "uid N".  0 or -ENOMEM.
 */
int identity_of(const struct identity_map *map, const char *tmpl, uid_t uid, struct identity *ret,
                struct ocfl_err *err);
void identity_release(struct identity *id);

#endif
