/* cmd_ls.c: `ocflfs ls`: the objects of a storage root, their ids and heads. */
#include <errno.h>
#include <jansson.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "object.h"
#include "root.h"

static const char synopsis[] = "ls ROOT [--json]";

struct listed {
    char *path;
    char *id; /* NULL when the object could not be opened */
    char *head;
    char *error;
};

struct listing {
    struct ocfl_root *root;
    struct listed *items;
    size_t n, alloc;
};

static int collect(void *ctx, const char *object_path)
{
    struct listing *l = ctx;
    struct ocfl_object *obj = NULL;
    struct ocfl_err err = {0};
    struct listed *it;

    if (l->n == l->alloc) {
        size_t alloc = l->alloc ? l->alloc * 2 : 64;
        struct listed *items = realloc(l->items, alloc * sizeof(*items));
        if (!items)
            return -ENOMEM;
        l->items = items;
        l->alloc = alloc;
    }
    it = &l->items[l->n];
    memset(it, 0, sizeof(*it));
    it->path = strdup(object_path);
    if (ocfl_object_open(l->root->fd, object_path, &obj, &err) < 0) {
        it->error = strdup(err.msg);
    } else {
        it->id = strdup(obj->inv->id);
        it->head = strdup(obj->inv->head);
        ocfl_object_close(obj);
    }
    l->n++;
    if (!it->path || (!it->id && !it->error) || (it->id && !it->head))
        return -ENOMEM;
    return 0;
}

static int by_id(const void *a, const void *b)
{
    const struct listed *x = a, *y = b;

    /* objects that failed to open sort last, by path */
    if (!x->id || !y->id)
        return x->id ? -1 : y->id ? 1 : strcmp(x->path, y->path);
    return strcmp(x->id, y->id);
}

static void print_json(const struct listing *l, const char *root_path)
{
    json_t *doc = json_object(), *arr = json_array();

    json_object_set_new(doc, "root", json_string(root_path));
    for (size_t i = 0; i < l->n; i++) {
        const struct listed *it = &l->items[i];
        json_t *o = json_object();
        json_object_set_new(o, "path", json_string(it->path));
        if (it->id) {
            json_object_set_new(o, "id", json_string(it->id));
            json_object_set_new(o, "head", json_string(it->head));
        } else {
            json_object_set_new(o, "error", json_string(it->error));
        }
        json_array_append_new(arr, o);
    }
    json_object_set_new(doc, "objects", arr);
    cli_print_json(doc);
}

int cmd_ls(int argc, char **argv)
{
    struct listing l = {0};
    struct ocfl_err err = {0};
    int c, json, rc, status = EXIT_OK;

    if ((c = cli_json_option(argc, argv, synopsis, &json)) >= 0)
        return c;
    if (argc - optind != 1)
        return cli_usage(synopsis, "ls: expected exactly one ROOT");
    if (ocfl_root_open(argv[optind], &l.root, &err) < 0)
        return cli_fail(&err);

    rc = ocfl_root_walk(l.root, collect, &l, &err);
    if (rc < 0) {
        if (rc == -ENOMEM && !err.msg[0])
            ocfl_err_set(&err, rc, "'%s': out of memory", argv[optind]);
        status = cli_fail(&err);
        goto out;
    }
    qsort(l.items, l.n, sizeof(*l.items), by_id);
    for (size_t i = 0; i < l.n; i++)
        if (l.items[i].error) {
            cli_error("%s", l.items[i].error);
            status = EXIT_FAIL;
        }
    if (json) {
        print_json(&l, argv[optind]);
    } else {
        for (size_t i = 0; i < l.n; i++)
            if (l.items[i].id)
                printf("%s\t%s\t%s\n", l.items[i].id, l.items[i].head, l.items[i].path);
    }
out:
    for (size_t i = 0; i < l.n; i++) {
        free(l.items[i].path);
        free(l.items[i].id);
        free(l.items[i].head);
        free(l.items[i].error);
    }
    free(l.items);
    ocfl_root_close(l.root);
    return status;
}
