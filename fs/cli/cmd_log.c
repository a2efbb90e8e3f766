/* cmd_log.c: `ocflfs log`: the versions of one object, newest first. */
#include <jansson.h>
#include <unistd.h>
#include <stdlib.h>

#include "cli_util.h"
#include "commands.h"
#include "digest.h"
#include "object.h"
#include "root.h"

static const char synopsis[] = "log ROOT ID [PATH] [--json]";

/* Whether version @i of @inv changed logical path @path (added, modified or removed). */
static int changes(const struct ocfl_inventory *inv, size_t i, const char *path)
{
    const struct ocfl_state_entry *now = ocfl_version_lookup(&inv->versions[i], path);
    const struct ocfl_state_entry *before =
        i > 0 ? ocfl_version_lookup(&inv->versions[i - 1], path) : NULL;

    if (!now || !before)
        return now != before;
    return !ocfl_digest_equal(now->digest, before->digest);
}

static json_t *version_json(const struct ocfl_inventory *inv, const struct ocfl_version *v)
{
    char name[32];
    json_t *o = json_object();

    ocfl_inventory_version_name(inv, v->num, name, sizeof(name));
    json_object_set_new(o, "version", json_string(name));
    json_object_set_new(o, "created", json_string(v->created));
    json_object_set_new(o, "message", v->message ? json_string(v->message) : json_null());
    if (v->user_name) {
        json_t *u = json_object();
        json_object_set_new(u, "name", json_string(v->user_name));
        if (v->user_address)
            json_object_set_new(u, "address", json_string(v->user_address));
        json_object_set_new(o, "user", u);
    } else {
        json_object_set_new(o, "user", json_null());
    }
    json_object_set_new(o, "files", json_integer((json_int_t)v->n_state));
    return o;
}

static void print_text(const struct ocfl_inventory *inv, const char *only)
{
    for (size_t i = inv->n_versions; i-- > 0;) {
        const struct ocfl_version *v = &inv->versions[i];
        char name[32];

        if (only && !changes(inv, i, only))
            continue;
        ocfl_inventory_version_name(inv, v->num, name, sizeof(name));
        printf("%s  %s", name, v->created);
        if (v->user_name) {
            printf("  %s", v->user_name);
            if (v->user_address)
                printf(" <%s>", v->user_address);
        }
        printf("\n    %s\n", v->message ? v->message : "(no message)");
    }
}

int cmd_log(int argc, char **argv)
{
    struct ocfl_root *root = NULL;
    struct ocfl_object *obj = NULL;
    struct ocfl_err err = {0};
    char *path = NULL;
    int c, json, status = EXIT_OK;

    if ((c = cli_json_option(argc, argv, synopsis, &json)) >= 0)
        return c;
    if (argc - optind != 2 && argc - optind != 3)
        return cli_usage(synopsis, "log: expected ROOT, ID and maybe a PATH");
    const char *only = argc - optind == 3 ? argv[optind + 2] : NULL;
    if (cli_root_open(argv[optind], &root, &err) < 0)
        return cli_fail(&err);
    if (ocfl_root_find_object(root, argv[optind + 1], &path, &err) < 0 ||
        ocfl_object_open(root->fd, path, &obj, &err) < 0) {
        status = cli_fail(&err);
        goto out;
    }
    if (json) {
        json_t *doc = json_object(), *arr = json_array();
        json_object_set_new(doc, "id", json_string(obj->inv->id));
        json_object_set_new(doc, "path", json_string(path));
        json_object_set_new(doc, "head", json_string(obj->inv->head));
        for (size_t i = obj->inv->n_versions; i-- > 0;)
            if (!only || changes(obj->inv, i, only))
                json_array_append_new(arr, version_json(obj->inv, &obj->inv->versions[i]));
        if (only)
            json_object_set_new(doc, "logical_path", json_string(only));
        json_object_set_new(doc, "versions", arr);
        cli_print_json(doc);
    } else {
        print_text(obj->inv, only);
    }
out:
    ocfl_object_close(obj);
    free(path);
    ocfl_root_close(root);
    return status;
}
