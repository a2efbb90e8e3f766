/* cmd_log.c: `ocflfs log`: the versions of one object, newest first. */
#include <jansson.h>
#include <unistd.h>
#include <stdlib.h>

#include "cli_util.h"
#include "commands.h"
#include "digest.h"
#include "object.h"
#include "object_json.h"
#include "root.h"

static const char synopsis[] = "log ROOT ID [PATH] [--json]";

static void print_text(const struct ocfl_inventory *inv, const char *only)
{
    for (size_t i = inv->n_versions; i-- > 0;) {
        const struct ocfl_version *v = &inv->versions[i];
        char name[32];

        if (only && !ocfl_version_changed(inv, i, only))
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
        json_t *doc = ocfl_log_json(obj, only);
        if (!doc) {
            cli_error("cannot format JSON: out of memory");
            status = EXIT_FAIL;
            goto out;
        }
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
