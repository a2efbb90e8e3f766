/* identity.c: a local user's name and address for a version: a map file, passwd, a template. */
#include "identity.h"

#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inventory.h"

struct identity_map {
    json_t *logins; /* login -> {"name", "address"} */
};

int identity_map_load(const char *path, struct identity_map **ret, struct ocfl_err *err)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;
    const char *login;
    struct identity_map *map;

    *ret = NULL;
    if (!j)
        return ocfl_err_set(err, -EINVAL, "user map '%s': %s (line %d)", path, je.text, je.line);
    if (!json_is_object(j)) {
        json_decref(j);
        return ocfl_err_set(err, -EINVAL, "user map '%s': must be a JSON object of logins", path);
    }
    json_object_foreach(j, login, v)
    {
        json_t *name = json_object_get(v, "name"), *addr = json_object_get(v, "address");
        const char *bad = !json_is_object(v)                                   ? "is not an object"
                          : !json_is_string(name) || !*json_string_value(name) ? "has no name"
                          : addr && (!json_is_string(addr) || !ocfl_is_uri(json_string_value(addr)))
                              ? "has an address that is not a URI"
                          : json_object_size(v) > (addr ? 2u : 1u)
                              ? "has a key other than name and address"
                              : NULL;
        if (bad) { /* the message first: @login belongs to @j */
            int r =
                ocfl_err_set(err, -EINVAL, "user map '%s': login '%.100s' %s", path, login, bad);
            json_decref(j);
            return r;
        }
    }
    if (!(map = calloc(1, sizeof(*map)))) {
        json_decref(j);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    map->logins = j;
    *ret = map;
    return 0;
}

void identity_map_free(struct identity_map *map)
{
    if (!map)
        return;
    json_decref(map->logins);
    free(map);
}

/* @tmpl with "{login}" and "{uid}" replaced, malloc'd; NULL when out of memory. */
static char *expand(const char *tmpl, const char *login, uid_t uid)
{
    size_t cap = strlen(tmpl) + 1, n = 0;
    char *out = malloc(cap), num[24];

    snprintf(num, sizeof(num), "%lu", (unsigned long)uid);
    while (out && *tmpl) {
        const char *add = NULL;
        size_t skip = 1, k;
        if (!strncmp(tmpl, "{login}", 7))
            add = login, skip = 7;
        else if (!strncmp(tmpl, "{uid}", 5))
            add = num, skip = 5;
        k = add ? strlen(add) : 1;
        if (n + k + 1 > cap) {
            char *o = realloc(out, (cap = (n + k + 1) * 2));
            if (!o) {
                free(out);
                return NULL;
            }
            out = o;
        }
        memcpy(out + n, add ? add : tmpl, k);
        n += k;
        tmpl += skip;
    }
    if (out)
        out[n] = '\0';
    return out;
}

int identity_template_check(const char *tmpl, struct ocfl_err *err)
{
    char *a = expand(tmpl, "login", 1000);
    int ok = a && ocfl_is_uri(a);

    free(a);
    if (!ok)
        return ocfl_err_set(err, -EINVAL,
                            "address template '%.200s' does not make a URI (RFC 3986: a scheme "
                            "and a colon, as in 'mailto:{login}@example.org')",
                            tmpl);
    return 0;
}

void identity_release(struct identity *id)
{
    if (!id)
        return;
    free(id->login);
    free(id->name);
    free(id->address);
    memset(id, 0, sizeof(*id));
}

int identity_of(const struct identity_map *map, const char *tmpl, uid_t uid, struct identity *ret,
                struct ocfl_err *err)
{
    struct passwd pw, *pp = NULL;
    char buf[4096];
    json_t *e;

    memset(ret, 0, sizeof(*ret));
    ret->uid = uid;
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pp) != 0)
        pp = NULL;
    if (pp) {
        ret->login = strdup(pp->pw_name);
    } else if (asprintf(&ret->login, "%lu", (unsigned long)uid) < 0) {
        ret->login = NULL;
    }
    if (!ret->login)
        goto oom;
    if (map && (e = json_object_get(map->logins, ret->login))) {
        json_t *a = json_object_get(e, "address");
        ret->name = strdup(json_string_value(json_object_get(e, "name")));
        if (a && !(ret->address = strdup(json_string_value(a))))
            goto oom;
    } else {
        const char *gecos = pp && pp->pw_gecos ? pp->pw_gecos : "";
        size_t n = strcspn(gecos, ",");
        if (n)
            ret->name = strndup(gecos, n);
        else if (pp)
            ret->name = strdup(pp->pw_name);
        else if (asprintf(&ret->name, "uid %lu", (unsigned long)uid) < 0)
            ret->name = NULL;
        if (tmpl && !(ret->address = expand(tmpl, ret->login, uid)))
            goto oom;
    }
    if (!ret->name)
        goto oom;
    return 0;
oom:
    identity_release(ret);
    return ocfl_err_set(err, -ENOMEM, "out of memory");
}
