/* commit_request.c: parse and check a commit request (plain text or JSON). */
#include "commit_request.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "plan.h"

void journal_commit_request_release(struct journal_commit_request *req)
{
    if (!req)
        return;
    free(req->message);
    free(req->user_name);
    free(req->user_address);
    memset(req, 0, sizeof(*req));
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static int parse_user(json_t *u, struct journal_commit_request *req, struct ocfl_err *err)
{
    const char *key;
    json_t *v;

    if (!json_is_object(u))
        return ocfl_err_set(err, -EINVAL,
                            "user: must be an object {\"name\": ..., \"address\": ...}, not %s",
                            type_name(u));
    json_object_foreach(u, key, v)
    {
        if (strcmp(key, "name") && strcmp(key, "address"))
            return ocfl_err_set(err, -EINVAL,
                                "user.%.100s: unknown key (a user has \"name\" and \"address\")",
                                key);
        if (!json_is_string(v))
            return ocfl_err_set(err, -EINVAL, "user.%s: must be a string, not %s", key,
                                type_name(v));
    }
    if (!json_object_get(u, "name"))
        return ocfl_err_set(err, -EINVAL, "user.name: missing (a user needs a name)");
    if (!(req->user_name = strdup(json_string_value(json_object_get(u, "name")))))
        return -ENOMEM;
    if (json_object_get(u, "address") &&
        !(req->user_address = strdup(json_string_value(json_object_get(u, "address")))))
        return -ENOMEM;
    return 0;
}

static int parse_json(const char *text, size_t len, struct journal_commit_request *req,
                      struct ocfl_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *v;
    const char *key;
    int r = 0;

    if (!j)
        return ocfl_err_set(err, -EINVAL, "request: not valid JSON (%s, at character %d)", je.text,
                            je.position);
    if (!json_is_object(j)) {
        json_decref(j);
        return ocfl_err_set(err, -EINVAL, "request: must be a JSON object");
    }
    json_object_foreach(j, key, v)
    {
        if (!strcmp(key, "message")) {
            if (!json_is_string(v))
                r = ocfl_err_set(err, -EINVAL, "message: must be a string, not %s", type_name(v));
            else if (!(req->message = strdup(json_string_value(v))))
                r = -ENOMEM;
        } else if (!strcmp(key, "user")) {
            r = parse_user(v, req, err);
        } else if (!strcmp(key, "rebase")) {
            if (!json_is_boolean(v))
                r = ocfl_err_set(err, -EINVAL, "rebase: must be true or false, not %s",
                                 type_name(v));
            req->rebase = json_is_true(v);
        } else {
            r = ocfl_err_set(err, -EINVAL,
                             "%.100s: unknown key (a request takes \"message\", \"user\" with "
                             "\"name\" and \"address\", and \"rebase\")",
                             key);
        }
        if (r < 0)
            break;
    }
    json_decref(j);
    if (r == 0 && !req->message)
        r = ocfl_err_set(err, -EINVAL, "message: missing (a version needs a message)");
    return r;
}

int journal_commit_request_parse(const char *text, size_t len, struct journal_commit_request *req,
                                 struct ocfl_err *err)
{
    int r;

    memset(req, 0, sizeof(*req));
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
                   text[len - 1] == '\t'))
        len--;
    while (len && (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r'))
        text++, len--;
    if (len && *text == '{') {
        r = parse_json(text, len, req, err);
    } else if (memchr(text, '\0', len)) {
        r = ocfl_err_set(err, -EINVAL, "message: holds a NUL byte");
    } else {
        req->message = strndup(text, len);
        r = req->message ? 0 : -ENOMEM;
    }
    /* the name and address the request gives are checked as the version will hold them */
    if (r == 0)
        r = ocfl_version_meta_check(req->message, req->user_name ? req->user_name : "-",
                                    req->user_address, err);
    if (r == -ENOMEM)
        ocfl_err_set(err, r, "request: out of memory");
    if (r < 0)
        journal_commit_request_release(req);
    return r;
}
