/* cmd_purge.c: `ocflfs purge`: an object removed from its storage root for good, as an
 * update plan (journaled, crash-safe, resumable). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_settings.h"
#include "cli_util.h"
#include "commands.h"
#include "digest.h"
#include "identity.h"
#include "journal.h"
#include "object.h"
#include "plan.h"
#include "root.h"
#include "staging.h"

static const char synopsis[] = "purge ROOT ID [--yes] [--user NAME [--address URI]] [--state DIR]";

struct purge_args {
    const char *root, *id, *user, *address, *state;
    int yes;
};

static int parse(int argc, char **argv, struct purge_args *a)
{
    static const struct option longopts[] = {
        {"yes", no_argument, NULL, 'y'},           {"user", required_argument, NULL, 'u'},
        {"address", required_argument, NULL, 'a'}, {"state", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "yh", longopts, NULL)) != -1) {
        if (c == 'y')
            a->yes = 1;
        else if (c == 'u')
            a->user = optarg;
        else if (c == 'a')
            a->address = optarg;
        else if (c == 's')
            a->state = optarg;
        else if (c == 'h') {
            printf("usage: ocflfs %s\n", synopsis);
            return -1;
        } else
            return cli_usage(synopsis, "purge: bad option");
    }
    if (argc - optind != 2)
        return cli_usage(synopsis, "purge: expected ROOT and ID");
    if (a->address && !a->user)
        return cli_usage(synopsis, "purge: --address needs --user");
    a->root = argv[optind];
    a->id = argv[optind + 1];
    return 0;
}

/* What stops a purge: an unfinished plan of the object, or changes staged for it. */
static int refuse_busy(struct journal *j, const struct purge_args *a, struct ocfl_err *err)
{
    struct journal_plan_info *v;
    struct staging_object_info *o;
    size_t n;
    int r = journal_plans_list(j, 0, &v, &n, err);

    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < n; i++)
        if (!strcmp(v[i].object_id, a->id))
            r = ocfl_err_set(err, -EBUSY,
                             "object '%s' has an unfinished plan %lld: 'ocflfs resume %s %lld' "
                             "or 'ocflfs cancel %s %lld' first",
                             a->id, (long long)v[i].id, a->root, (long long)v[i].id, a->root,
                             (long long)v[i].id);
    journal_plan_infos_free(v, n);
    if (r < 0 || (r = staging_objects(j, &o, &n, err)) < 0)
        return r;
    for (size_t i = 0; r == 0 && i < n; i++)
        if (!strcmp(o[i].object_id, a->id))
            r = ocfl_err_set(err, -EBUSY,
                             "object '%s' has changes staged through a mount (%zu entries): "
                             "commit them, or 'ocflfs discard %s %s', first",
                             a->id, o[i].n_rows, a->root, a->id);
    staging_object_infos_free(o, n);
    return r;
}

/* Asked on the terminal: 1 confirmed, 0 not (or no terminal: then -ENOTTY). */
static int confirm(const struct purge_args *a, const struct ocfl_object *obj)
{
    char line[64];

    if (!isatty(STDIN_FILENO))
        return -ENOTTY;
    fprintf(stderr,
            "Remove object '%s' (%s, %zu versions, %zu content files) at %s/%s for good?\n"
            "Every version goes; this cannot be undone. Type yes to go on: ",
            a->id, obj->inv->head, obj->inv->n_versions, obj->inv->n_manifest, a->root, obj->path);
    if (!fgets(line, sizeof(line), stdin))
        return 0;
    line[strcspn(line, "\n")] = 0;
    return !strcmp(line, "yes");
}

/* Where the object goes to be deleted: in the root (one rename away), outside every object
 * and out of the validator's walk, unique per purge. */
static int trash_path(const char *id, char **ret, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX], when[32];
    int r = ocfl_digest_buffer(OCFL_DIGEST_SHA256, id, strlen(id), hex, err);

    if (r < 0)
        return r;
    cli_created_now(when, sizeof(when));
    when[strspn(when, "0123456789-T:Z")] = 0;
    for (char *c = when; *c; c++)
        if (*c == ':')
            *c = '-';
    if (asprintf(ret, "extensions/ocflfs/purging/%.16s-%s-%ld", hex, when, (long)getpid()) < 0)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int do_purge(const struct purge_args *a, const struct ocfl_settings *s, struct ocfl_err *err)
{
    struct journal_options o = {.root = a->root, .holder = "purge"};
    struct journal_retry retry[JOURNAL_RETRY_KIND_COUNT];
    struct ocfl_root *root = NULL;
    struct ocfl_object *obj = NULL;
    struct journal *j = NULL;
    struct ocfl_plan *plan = NULL;
    char *path = NULL, *trash = NULL, *dflt = NULL, created[64];
    int64_t id = 0;
    int r = cli_root_open(a->root, &root, err);

    cli_settings_journal(s, retry, &o);
    if (r >= 0 && (r = ocfl_root_find_object(root, a->id, &path, err)) == -ENOENT)
        r = ocfl_err_set(err, -ENOENT, "no object '%s' in '%s'", a->id, a->root);
    if (r >= 0)
        r = ocfl_object_open(root->fd, path, &obj, err);
    if (r >= 0 && strcmp(obj->inv->id, a->id))
        r = ocfl_err_set(err, -EINVAL, "'%s' holds object '%s', not '%s'", path, obj->inv->id,
                         a->id);
    if (r >= 0 && !a->state && asprintf(&dflt, "%s/extensions/ocflfs", a->root) < 0)
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
    if (r >= 0)
        r = journal_open(a->state ? a->state : dflt, &o, &j, err);
    if (r >= 0)
        r = refuse_busy(j, a, err);
    if (r >= 0 && !a->yes) {
        int c = confirm(a, obj);
        if (c == -ENOTTY)
            r = ocfl_err_set(err, -EINVAL,
                             "purge of '%s': no terminal to ask on; give --yes to remove it",
                             a->id);
        else if (!c)
            r = ocfl_err_set(err, -ECANCELED, "purge of '%s' not confirmed: nothing removed",
                             a->id);
    }
    if (r >= 0)
        r = trash_path(a->id, &trash, err);
    if (r >= 0) {
        cli_created_now(created, sizeof(created));
        r = ocfl_plan_build_purge(obj->inv, obj->inventory_digest, path, trash, created, a->user,
                                  a->address, &plan, err);
    }
    if (r >= 0)
        r = journal_plan_add(j, plan, path, &id, err);
    ocfl_object_close(obj); /* its directory is about to move */
    obj = NULL;
    if (r >= 0)
        r = journal_plan_run(j, root, id, NULL, NULL, err);
    if (r >= 0)
        printf("%s: purged (plan %lld; %u versions removed from %s)\n", a->id, (long long)id,
               plan->version_num, path);
    ocfl_plan_free(plan);
    journal_close(j);
    ocfl_root_close(root);
    free(path);
    free(trash);
    free(dflt);
    return r;
}

int cmd_purge(int argc, char **argv)
{
    struct purge_args a = {0};
    struct ocfl_err err = {0};
    struct identity me = {0};
    struct ocfl_settings *s = NULL;
    int r = parse(argc, argv, &a);

    if (r)
        return r < 0 ? EXIT_OK : r;
    if (cli_settings_load(a.root, a.state, &s, &err) < 0)
        return cli_fail(&err);
    /* the plan names who purged, as a version names who wrote it */
    cli_settings_identity(s, &a.user, &a.address);
    if (cli_user_or_me(&a.user, &me, &err) < 0) {
        ocfl_settings_free(s);
        return cli_fail(&err);
    }
    r = do_purge(&a, s, &err);
    identity_release(&me);
    ocfl_settings_free(s);
    if (r == -EINVAL && strstr(err.msg, "give --yes")) {
        cli_error("%s", err.msg);
        return EXIT_USAGE;
    }
    return r < 0 ? cli_fail(&err) : EXIT_OK;
}
