/* cmd_staged.c: changes staged through a mount, seen and dropped without one: `status`,
 * `discard`. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "journal.h"
#include "object.h"
#include "root.h"
#include "staging.h"

/* Open ROOT and its journal (the state dir given, or cluster host @host's under the root, or
 * ROOT/extensions/ocflfs). */
static int open_both(const char *rootp, const char *state, const char *host, unsigned flags,
                     struct ocfl_root **root, struct journal **j, struct ocfl_err *err)
{
    /* a cluster host's journal: a rollback journal on the shared root, which is not locked */
    struct journal_options o = {.flags = flags | (host ? JOURNAL_CLUSTER : 0),
                                .root = rootp,
                                .holder = "status or discard"};
    char *dflt = NULL;
    int r = cli_root_open(rootp, root, err);

    if (r < 0)
        return r;
    if (host && (!*host || strchr(host, '/') || !strcmp(host, ".") || !strcmp(host, "..")))
        return ocfl_err_set(err, -EINVAL, "--host '%s': not a host name", host);
    if (!state && (host ? asprintf(&dflt, "%s/extensions/ocflfs/hosts/%s", rootp, host)
                        : asprintf(&dflt, "%s/extensions/ocflfs", rootp)) < 0)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    r = journal_open(state ? state : dflt, &o, j, err);
    free(dflt);
    return r;
}

/* The head inventory of @id, or NULL for an object not committed yet (*obj owned). */
static int head_of(struct ocfl_root *root, const char *id, struct ocfl_object **obj,
                   struct ocfl_err *err)
{
    char *path = NULL;
    int r = ocfl_root_find_object(root, id, &path, err);

    *obj = NULL;
    if (r == -ENOENT) {
        ocfl_err_clear(err);
        return 0;
    }
    if (r == 0)
        r = ocfl_object_open(root->fd, path, obj, err);
    free(path);
    return r;
}

/* The staged changes of @id were made on a committed object that is not found (not where the
 * layout puts it): the head they sit on is unknown, so paths cannot be restored; -ENOENT. */
static int committed_elsewhere(struct journal *j, const char *id, struct ocfl_err *err)
{
    struct staging_object_info *oi = NULL;
    size_t n = 0;
    int r = staging_objects(j, &oi, &n, err);

    for (size_t i = 0; r == 0 && i < n; i++)
        if (!strcmp(oi[i].object_id, id) && !oi[i].new_object)
            r = ocfl_err_set(err, -ENOENT,
                             "object '%s' is not where the layout puts it: its committed state "
                             "is unknown (OCFLFS_FIND_MISPLACED=1 walks the root for it)",
                             id);
    staging_object_infos_free(oi, n);
    return r;
}

static int parse(int argc, char **argv, const char *synopsis, int *json, const char **state,
                 const char **host)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"state", required_argument, NULL, 's'},
        {"host", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'j')
            *json = 1;
        else if (c == 's')
            *state = optarg;
        else if (c == 'H')
            *host = optarg;
        else if (c == 'h') {
            printf("usage: ocflfs %s\n", synopsis);
            return EXIT_OK + 100;
        } else
            return cli_usage(synopsis, "%s: bad option", argv[0]);
    }
    return -1;
}

static const char ssynopsis[] = "status ROOT [ID] [--json] [--state DIR | --host NAME]";

/* `status`: the objects with staged changes, or one object's changes (as .ocfl/status). */
int cmd_status(int argc, char **argv)
{
    struct ocfl_root *root = NULL;
    struct journal *j = NULL;
    struct ocfl_err err = {0};
    const char *state = NULL, *host = NULL;
    int json = 0, r = parse(argc, argv, ssynopsis, &json, &state, &host), status = EXIT_OK;

    if (r >= 0)
        return r >= 100 ? r - 100 : r;
    if (argc - optind < 1 || argc - optind > 2)
        return cli_usage(ssynopsis, "status: expected ROOT and maybe an ID");
    /* read-only: a running mount does not refuse it */
    if ((r = open_both(argv[optind], state, host, JOURNAL_READONLY, &root, &j, &err)) < 0) {
        ocfl_root_close(root);
        if (r == -ENOENT && root) /* no journal: nothing was ever staged */
            return json ? (cli_print_json(json_pack("{s:[]}", "staged")), EXIT_OK)
                        : (printf("nothing staged\n"), EXIT_OK);
        return cli_fail(&err);
    }
    if (argc - optind == 2) {
        struct ocfl_object *obj = NULL;
        char *text = NULL;
        if (head_of(root, argv[optind + 1], &obj, &err) < 0 ||
            staging_status_json(j, argv[optind + 1], obj ? obj->inv : NULL, &text, &err) < 0) {
            status = cli_fail(&err);
        } else {
            puts(text);
        }
        free(text);
        ocfl_object_close(obj);
    } else {
        struct staging_object_info *oi = NULL;
        size_t n = 0;
        if (staging_objects(j, &oi, &n, &err) < 0) {
            status = cli_fail(&err);
        } else if (json) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_pack("{s:s, s:b, s:I}", "object", oi[i].object_id,
                                                     "new", oi[i].new_object, "rows",
                                                     (json_int_t)oi[i].n_rows));
            cli_print_json(json_pack("{s:o}", "staged", arr));
        } else {
            for (size_t i = 0; i < n; i++)
                printf("%s%s  %zu staged entries\n", oi[i].object_id,
                       oi[i].new_object ? " (new)" : "", oi[i].n_rows);
            if (!n)
                printf("nothing staged\n");
        }
        staging_object_infos_free(oi, n);
    }
    journal_close(j);
    ocfl_root_close(root);
    return status;
}

static const char dsynopsis[] = "discard ROOT ID [PATH...] [--state DIR | --host NAME]";

/* `discard`: drop an object's staged changes (its scratch files go); refused while a mount or
 * another ocflfs process holds the state directory. */
int cmd_discard(int argc, char **argv)
{
    struct ocfl_root *root = NULL;
    struct journal *j = NULL;
    struct ocfl_err err = {0};
    const char *state = NULL, *host = NULL;
    int json = 0, r = parse(argc, argv, dsynopsis, &json, &state, &host), status = EXIT_OK;

    if (r >= 0)
        return r >= 100 ? r - 100 : r;
    if (argc - optind < 2)
        return cli_usage(dsynopsis, "discard: expected ROOT and ID");
    if (open_both(argv[optind], state, host, 0, &root, &j, &err) < 0) {
        status = cli_fail(&err);
    } else if (argc - optind == 2) {
        if ((r = staging_discard(j, argv[optind + 1], &err)) < 0)
            status = cli_fail(&err);
        else
            printf("%s: %d staged entries dropped\n", argv[optind + 1], r);
    } else {
        /* some paths: they show the head again, the object's other changes stay */
        struct ocfl_object *obj = NULL;
        const char *const *paths = (const char *const *)argv + optind + 2;
        if (head_of(root, argv[optind + 1], &obj, &err) < 0 ||
            (!obj && (r = committed_elsewhere(j, argv[optind + 1], &err)) < 0) ||
            (r = staging_discard_paths(j, argv[optind + 1], obj ? obj->inv : NULL, paths,
                                       (size_t)(argc - optind - 2), &err)) < 0)
            status = cli_fail(&err);
        else
            printf("%s: %d staged entries dropped at %d path%s\n", argv[optind + 1], r,
                   argc - optind - 2, argc - optind - 2 == 1 ? "" : "s");
        ocfl_object_close(obj);
    }
    journal_close(j);
    ocfl_root_close(root);
    return status;
}
