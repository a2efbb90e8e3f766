/* cmd_validate.c: `ocflfs validate PATH [ID] ...`: an object, a storage root, an object of a root
 * by its id, or an inventory file on its own. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli_settings.h"
#include "cli_util.h"
#include "commands.h"
#include "report.h"
#include "root.h"
#include "utf8.h"
#include "validate.h"

static const char synopsis[] =
    "validate PATH [ID] [--json] [--no-digests] [--quiet] [--no-warnings]";

/* Inventories named on a text line; the rest are counted. */
#define TEXT_INVENTORIES 6

struct vargs {
    const char *path, *id;
    int json, quiet, no_warnings;
    struct ocfl_validate_opts opts;
};

static const char *kind_name(int kind)
{
    switch (kind) {
    case OCFL_VALIDATE_ROOT:
        return "storage root";
    case OCFL_VALIDATE_INVENTORY:
        return "inventory";
    default:
        return "object";
    }
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    cli_progress_update(ctx, "validating", done, total);
}

static int shown(const struct vargs *a, const struct ocfl_finding *f)
{
    return f->severity == OCFL_ERROR || !(a->quiet || a->no_warnings);
}

static json_t *finding_json(const struct ocfl_finding *f)
{
    /* a path on disk, and a message quoting one cut at a byte bound, need not be UTF-8 */
    json_t *item = json_pack("{s:s, s:o, s:o}", "code", f->code, "path",
                             ocfl_json_string_lossy(f->path ? f->path : ""), "message",
                             ocfl_json_string_lossy(f->message ? f->message : ""));
    json_t *invs;

    if (!item)
        return NULL;
    if (f->url[0] && json_object_set_new(item, "url", json_string(f->url)))
        goto fail;
    if (f->n_inventories) {
        if (!(invs = json_array()) || json_object_set_new(item, "inventories", invs))
            goto fail;
        for (size_t i = 0; i < f->n_inventories; i++)
            if (json_array_append_new(invs, json_string(f->inventories[i])))
                goto fail;
    }
    return item;
fail:
    json_decref(item);
    return NULL;
}

static int print_json(const struct vargs *a, int kind, const char *object_path,
                      const struct ocfl_report *r)
{
    json_t *doc = json_object(), *errors = json_array(), *warnings = NULL;
    int rc = -1;

    if (!a->quiet && !a->no_warnings)
        warnings = json_array();
    if (!doc || !errors || (!a->quiet && !a->no_warnings && !warnings))
        goto out;
    for (size_t i = 0; i < r->n; i++) {
        const struct ocfl_finding *f = &r->items[i];
        json_t *item;
        if (!shown(a, f))
            continue;
        if (!(item = finding_json(f)) ||
            json_array_append_new(f->severity == OCFL_ERROR ? errors : warnings, item))
            goto out;
    }
    if (json_object_set_new(doc, "path", json_string(a->path)) ||
        (a->id && json_object_set_new(doc, "id", json_string(a->id))) ||
        (object_path && json_object_set_new(doc, "object_path", json_string(object_path))) ||
        json_object_set_new(doc, "type",
                            json_string(kind == OCFL_VALIDATE_ROOT        ? "root"
                                        : kind == OCFL_VALIDATE_INVENTORY ? "inventory"
                                                                          : "object")) ||
        json_object_set_new(doc, "valid", json_boolean(r->n_errors == 0)) ||
        json_object_set(doc, "errors", errors) ||
        (warnings && json_object_set(doc, "warnings", warnings)))
        goto out;
    rc = json_dumpf(doc, stdout, JSON_INDENT(2)) < 0 ? -1 : 0;
    if (rc == 0)
        fputc('\n', stdout);
out:
    json_decref(doc);
    json_decref(errors);
    json_decref(warnings);
    return rc;
}

/* "CODE path: message", and the inventories it was found in when they say more than the path. */
static void print_text(const struct vargs *a, const struct ocfl_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct ocfl_finding *f = &r->items[i];
        int self = f->n_inventories && !strcmp(f->path, f->inventories[0]);
        size_t first = self ? 1 : 0, n;

        if (!shown(a, f))
            continue;
        printf("%s %s: %s", f->code, f->path && *f->path ? f->path : ".",
               f->message ? f->message : "");
        if (f->n_inventories > first) {
            n = f->n_inventories - first;
            printf(" (%s ", self ? "also in" : "in");
            for (size_t k = 0; k < n && k < TEXT_INVENTORIES; k++)
                printf("%s%s", k ? ", " : "", f->inventories[first + k]);
            if (n > TEXT_INVENTORIES)
                printf(" and %zu more", n - TEXT_INVENTORIES);
            putchar(')');
        }
        putchar('\n');
    }
}

static int parse_args(int argc, char **argv, struct vargs *a)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            a->json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: ocflfs %s\n", synopsis);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--no-digests"))
            a->opts.check_digests = 0;
        else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
            a->quiet = 1;
        else if (!strcmp(argv[i], "--no-warnings"))
            a->no_warnings = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_usage(synopsis, "validate: unknown option '%s'", argv[i]);
        else if (a->id)
            return cli_usage(synopsis, "validate: PATH and at most one ID");
        else if (a->path)
            a->id = argv[i];
        else
            a->path = argv[i];
    }
    if (!a->path)
        return cli_usage(synopsis, "validate: PATH is missing");
    return -1;
}

/* ROOT ID: the object's path in the root, by its layout (a walk without one, or with
 * OCFLFS_FIND_MISPLACED=1). */
static int find_object(const struct vargs *a, struct ocfl_root **ret_root, char **ret_path,
                       struct ocfl_err *err)
{
    int r = cli_root_open(a->path, ret_root, err);

    if (r < 0)
        return r;
    r = ocfl_root_find_object(*ret_root, a->id, ret_path, err);
    /* something that is no object (say, one without its declaration) where the layout puts
     * the id: that is what is to be validated, and the validator says what is wrong */
    if (r == -EEXIST) {
        ocfl_err_clear(err);
        r = ocfl_root_object_path(*ret_root, a->id, ret_path, err);
    }
    if (r == -ENOENT)
        r = ocfl_err_set(err, -ENOENT, "no object '%s' in '%s'", a->id, a->path);
    return r;
}

int cmd_validate(int argc, char **argv)
{
    struct vargs a = {0};
    struct ocfl_report report;
    struct ocfl_err err = {0};
    struct cli_progress progress;
    struct ocfl_root *root = NULL;
    char *object_path = NULL;
    int kind, rc, dirfd = AT_FDCWD;
    const char *target;

    ocfl_validate_opts_init(&a.opts);
    if ((rc = parse_args(argc, argv, &a)) >= 0)
        return rc;
    target = a.path;
    if (a.id) {
        if (find_object(&a, &root, &object_path, &err) < 0) {
            ocfl_root_close(root);
            return cli_fail(&err);
        }
        kind = OCFL_VALIDATE_OBJECT;
        dirfd = root->fd;
        target = object_path;
    } else {
        kind = ocfl_validate_detect(AT_FDCWD, a.path, &err);
        if (kind < 0)
            return cli_fail(&err);
        if (kind == OCFL_VALIDATE_NEITHER) {
            cli_error("%s: not an OCFL object or storage root", a.path);
            return EXIT_FAIL;
        }
    }

    /* the hashing threads of the system and user files (a root's own file is not read: the
     * root is what is checked) */
    struct ocfl_settings *settings = NULL;
    if (cli_settings_load(NULL, NULL, &settings, &err) < 0) {
        ocfl_root_close(root);
        free(object_path);
        return cli_fail(&err);
    }
    a.opts.threads = ocfl_settings_count(settings, "threads.hashing");
    ocfl_settings_free(settings);
    cli_progress_init(&progress);
    if (progress.enabled && a.opts.check_digests && !a.quiet && kind != OCFL_VALIDATE_INVENTORY) {
        a.opts.progress = on_progress;
        a.opts.progress_ctx = &progress;
    }
    ocfl_report_init(&report);
    if (kind == OCFL_VALIDATE_ROOT)
        rc = ocfl_validate_root(dirfd, target, &a.opts, &report, &err);
    else if (kind == OCFL_VALIDATE_INVENTORY)
        rc = ocfl_validate_inventory(dirfd, target, &a.opts, &report, &err);
    else
        rc = ocfl_validate_object(dirfd, target, &a.opts, &report, &err);
    cli_progress_done(&progress);
    ocfl_root_close(root);
    if (rc < 0) {
        free(object_path);
        ocfl_report_release(&report);
        return cli_fail(&err);
    }

    if (a.json) {
        if (print_json(&a, kind, object_path, &report) < 0) {
            cli_error("%s: cannot write the JSON report", a.path);
            free(object_path);
            ocfl_report_release(&report);
            return EXIT_FAIL;
        }
    } else {
        print_text(&a, &report);
    }
    fflush(stdout);
    if (!a.quiet) {
        fprintf(stderr, "%s%s%s: %s %s, %zu error%s", a.path, a.id ? " " : "", a.id ? a.id : "",
                report.n_errors ? "invalid" : "valid", kind_name(kind), report.n_errors,
                report.n_errors == 1 ? "" : "s");
        if (a.no_warnings)
            fprintf(stderr, " (warnings not shown)");
        else
            fprintf(stderr, ", %zu warning%s", report.n_warnings,
                    report.n_warnings == 1 ? "" : "s");
        fprintf(stderr, "%s\n",
                a.opts.check_digests || kind == OCFL_VALIDATE_INVENTORY ? ""
                                                                        : " (digests not checked)");
    }
    rc = report.n_errors || report.oom ? EXIT_FAIL : EXIT_OK;
    free(object_path);
    ocfl_report_release(&report);
    return rc;
}
