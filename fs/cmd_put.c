/* cmd_put.c: `ocflfs put`: parse the arguments, stage DIR, plan, journal, run, report. */
/*
 * DIR's tree becomes the object's next version: files not in DIR leave the
 * state.  Every file is read once: hashed and, unless its content is already
 * in the object, copied into STATE/scratch/put-PID-NS/ in the same pass (by
 * one worker per core; see put_stage.c).  Then the plan is built, journaled
 * and run; staged files are moved into the version by rename.
 *
 * When DIR equals the head state there is nothing to commit: no version is
 * written, "nothing to commit" is printed and the exit status is 0 (a script
 * that puts the same tree twice has not failed; `ocflfs log` shows nothing new).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "digest.h"
#include "io.h"
#include "journal.h"
#include "object.h"
#include "plan.h"
#include "put_stage.h"
#include "staging.h"
#include "root.h"

static const char synopsis[] = "put ROOT ID DIR -m MSG [--user NAME --address URI] [--state DIR]";

static void on_progress(void *ctx, int64_t id, uint64_t done, uint64_t total)
{
    (void)id;
    cli_progress_update(ctx, "put: writing", done, total);
}

/* RFC 3339 "now" in UTC, or $OCFLFS_TEST_CREATED (tests fix the timestamp). */
static void created_now(char *buf, size_t size)
{
    const char *fixed = getenv("OCFLFS_TEST_CREATED");
    time_t t = time(NULL);
    struct tm tm;

    if (fixed && *fixed) {
        snprintf(buf, size, "%s", fixed);
        return;
    }
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct put_args {
    const char *root, *id, *dir, *message, *user, *address, *state;
};

static int parse(int argc, char **argv, struct put_args *a)
{
    static const struct option longopts[] = {
        {"message", required_argument, NULL, 'm'}, {"user", required_argument, NULL, 'u'},
        {"address", required_argument, NULL, 'a'}, {"state", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            a->message = optarg;
            break;
        case 'u':
            a->user = optarg;
            break;
        case 'a':
            a->address = optarg;
            break;
        case 's':
            a->state = optarg;
            break;
        case 'h':
            printf("usage: ocflfs %s\n", synopsis);
            return -1;
        default:
            return cli_usage(synopsis, "put: bad option");
        }
    }
    if (argc - optind != 3)
        return cli_usage(synopsis, "put: expected ROOT ID DIR");
    if (!a->message)
        return cli_usage(synopsis, "put: a message is required (-m MSG)");
    if (a->address && !a->user)
        return cli_usage(synopsis, "put: --address needs --user");
    a->root = argv[optind];
    a->id = argv[optind + 1];
    a->dir = argv[optind + 2];
    return 0;
}

/* Open the journal of ROOT (the state dir given, or ROOT/extensions/ocflfs). */
static int put_open_journal(const char *root, const char *state, unsigned flags,
                            struct journal **ret, struct ocfl_err *err)
{
    struct journal_options o = {.flags = flags, .root = root}; /* one writer per root */
    char *dflt = NULL;
    int r;

    if (!state) {
        if (asprintf(&dflt, "%s/extensions/ocflfs", root) < 0)
            return ocfl_err_set(err, -ENOMEM, "out of memory");
        state = dflt;
    }
    r = journal_open(state, &o, ret, err);
    free(dflt);
    return r;
}

static int refuse_unfinished(struct journal *j, const char *id, struct ocfl_err *err)
{
    struct journal_plan_info *v;
    size_t n;
    int r = journal_plans_list(j, 0, &v, &n, err);

    for (size_t i = 0; r == 0 && i < n; i++)
        if (!strcmp(v[i].object_id, id))
            r = ocfl_err_set(err, -EBUSY,
                             "object '%s' has an unfinished plan %lld; run 'ocflfs resume' or "
                             "'ocflfs cancel' first",
                             id, (long long)v[i].id);
    if (r >= 0)
        journal_plan_infos_free(v, n);
    return r;
}

/* A put over changes staged in a mount would leave them staged on a stale head: refuse. */
static int refuse_staged(struct journal *j, const char *id, struct ocfl_err *err)
{
    struct staging_object_info *v;
    size_t n;
    int r = staging_objects(j, &v, &n, err);

    for (size_t i = 0; r == 0 && i < n; i++)
        if (!strcmp(v[i].object_id, id))
            r = ocfl_err_set(err, -EBUSY,
                             "object '%s' has changes staged through a mount (%zu paths); commit "
                             "or discard them there first",
                             id, v[i].n_rows);
    if (r >= 0)
        staging_object_infos_free(v, n);
    return r;
}

/* The object where the layout puts @id, opened, when it is @id's: 1, or 0
 * (anything else: then the caller searches the slow way, which also reports
 * damage).  Saves reading the inventory twice (to find, then to open). */
static int open_by_layout(struct ocfl_root *root, const char *id, char **ret_path,
                          struct ocfl_object **ret_obj)
{
    char *mapped = NULL;

    if (!root->layout || ocfl_layout_map(root->layout, id, &mapped, NULL) < 0)
        return 0;
    if (ocfl_object_open(root->fd, mapped, ret_obj, NULL) >= 0) {
        if (!strcmp((*ret_obj)->inv->id, id)) {
            *ret_path = mapped;
            return 1;
        }
        ocfl_object_close(*ret_obj);
        *ret_obj = NULL;
    }
    free(mapped);
    return 0;
}

static int do_put(struct put_args *a, struct ocfl_err *err)
{
    struct ocfl_root *root = NULL;
    struct ocfl_object *obj = NULL;
    struct journal *j = NULL;
    struct ocfl_plan *plan = NULL;
    struct ocfl_plan_file *files = NULL;
    struct put_stage p = {.dir = a->dir};
    char *opath = NULL, created[64];
    int64_t id;
    int r;

    cli_progress_init(&p.prog);
    r = ocfl_root_open(a->root, &root, err);
    if (r < 0)
        goto out;
    r = put_open_journal(a->root, a->state, 0, &j, err);
    if (r < 0)
        goto out;
    r = refuse_unfinished(j, a->id, err);
    if (r >= 0)
        r = refuse_staged(j, a->id, err);
    if (r >= 0)
        r = journal_scratch_gc(j, "put-", err);
    if (r >= 0)
        r = journal_scratch_gc(j, "inventory-", err);
    if (r < 0)
        goto out;
    r = open_by_layout(root, a->id, &opath, &obj);
    if (r > 0)
        p.base = obj->inv;
    else
        r = ocfl_root_find_object(root, a->id, &opath, err);
    if (r > 0) {
        r = 0;
    } else if (r == -ENOENT) {
        ocfl_err_clear(err);
        r = ocfl_root_object_path(root, a->id, &opath, err);
    } else if (r >= 0) {
        r = ocfl_object_open(root->fd, opath, &obj, err);
        if (r >= 0)
            p.base = obj->inv;
    }
    if (r >= 0 && obj) /* no new version over missing or symlinked content */
        r = ocfl_object_check_content(obj, err);
    if (r < 0)
        goto out;
    p.alg = ocfl_digest_alg_from_name(
        obj ? obj->inv->digest_algorithm
            : (root->digest_algorithm ? root->digest_algorithm : "sha512"));
    p.state_fd = journal_state_fd(j);
    if (asprintf(&p.stage, "scratch/put-%ld-%lld", (long)getpid(), (long long)journal_now_ns(j)) <
        0) {
        p.stage = NULL;
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (mkdirat(p.state_fd, p.stage, 0755) < 0) {
        r = ocfl_err_sys(err, -errno, "cannot create '%s/%s'", journal_state_dir(j), p.stage);
        goto out;
    }
    r = put_stage_read(&p, err);
    /* One flush makes every staged file durable before the plan refers to it. */
    if (r >= 0 && p.staged_small && syncfs(p.state_fd) < 0)
        r = ocfl_err_sys(err, -errno, "cannot flush '%s'", journal_state_dir(j));
    else if (r >= 0)
        r = ocfl_io_fsync_dir(p.state_fd, p.stage, err);
    if (r < 0)
        goto unstage;

    files = calloc(p.n ? p.n : 1, sizeof(*files));
    if (!files) {
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto unstage;
    }
    for (size_t i = 0; i < p.n; i++) {
        files[i].logical_path = p.e[i].logical_path;
        files[i].digest = p.e[i].digest;
        files[i].source = p.e[i].source;
        files[i].size = p.e[i].size;
    }
    created_now(created, sizeof(created));
    struct ocfl_plan_input in = {
        .base = p.base,
        .base_digest = obj ? obj->inventory_digest : NULL,
        .id = a->id,
        .digest_algorithm = ocfl_digest_alg_name(p.alg),
        .spec = obj ? OCFL_SPEC_UNKNOWN : (root->spec ? root->spec : OCFL_SPEC_1_1),
        .files = files,
        .n_files = p.n,
        .created = created,
        .message = a->message,
        .user_name = a->user,
        .user_address = a->address,
        .release_dir = p.stage,
    };
    r = ocfl_plan_build(&in, &plan, err);
    if (r < 0)
        goto unstage;
    if (ocfl_plan_is_empty(plan)) {
        printf("nothing to commit: '%s' at %s already has this content\n", a->id, obj->inv->head);
        goto unstage;
    }
    r = journal_plan_add(j, plan, opath, &id, err);
    if (r < 0)
        goto unstage;
    r = journal_plan_run(j, root, id, on_progress, &p.prog, err);
    cli_progress_done(&p.prog);
    if (r >= 0)
        printf("%s: %s written (plan %lld; %zu added, %zu modified, %zu removed)\n", a->id,
               plan->version_name, (long long)id, plan->n_added, plan->n_modified, plan->n_removed);
    goto out;
unstage:
    cli_progress_done(&p.prog);
    if (p.stage)
        ocfl_io_remove_tree(p.state_fd, p.stage, NULL);
out:
    free(files);
    ocfl_plan_free(plan);
    put_stage_release(&p);
    free(opath);
    ocfl_object_close(obj);
    journal_close(j);
    ocfl_root_close(root);
    return r;
}

int cmd_put(int argc, char **argv)
{
    struct put_args a = {0};
    struct ocfl_err err = {0};
    int r = parse(argc, argv, &a);

    if (r)
        return r < 0 ? EXIT_OK : r;
    r = do_put(&a, &err);
    return r < 0 ? cli_fail(&err) : EXIT_OK;
}
