/* cmd_read.c: reading an object without a mount: `show`, `cat`, `diff`, `export`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "digest.h"
#include "io.h"
#include "object.h"
#include "object_json.h"
#include "root.h"

/* An object of a root, opened, and the version asked for (-v; default the head). */
struct reading {
    struct ocfl_root *root;
    struct ocfl_object *obj;
    char *path;
    int json;
    const char *version; /* -v VERSION, or NULL */
    const char *pos[3];  /* positional arguments after ROOT ID */
    int n_pos;
};

static void reading_close(struct reading *r)
{
    ocfl_object_close(r->obj);
    ocfl_root_close(r->root);
    free(r->path);
}

/* Parse [--json] [-v VERSION] ROOT ID ARGS... (@min..@max ARGS) and open the object. */
static int reading_open(int argc, char **argv, const char *synopsis, int min, int max,
                        struct reading *r)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"version", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct ocfl_err err = {0};
    int c;

    memset(r, 0, sizeof(*r));
    optind = 1;
    while ((c = getopt_long(argc, argv, "v:h", longopts, NULL)) != -1) {
        if (c == 'j') {
            r->json = 1;
        } else if (c == 'v') {
            r->version = optarg;
        } else if (c == 'h') {
            printf("usage: ocflfs %s\n", synopsis);
            return EXIT_OK + 100;
        } else {
            return cli_usage(synopsis, "%s: bad option", argv[0]);
        }
    }
    if (argc - optind < 2 + min || argc - optind > 2 + max)
        return cli_usage(synopsis, "%s: wrong number of arguments", argv[0]);
    for (int i = optind + 2; i < argc; i++)
        r->pos[r->n_pos++] = argv[i];
    if (cli_root_open(argv[optind], &r->root, &err) < 0 ||
        ocfl_root_find_object(r->root, argv[optind + 1], &r->path, &err) < 0 ||
        ocfl_object_open(r->root->fd, r->path, &r->obj, &err) < 0) {
        reading_close(r);
        return cli_fail(&err);
    }
    return -1;
}

/* The version named @name ("v3", "3", or the inventory's own spelling "v003"); NULL: head. */
static const struct ocfl_version *pick(const struct reading *r, const char *name)
{
    const struct ocfl_inventory *inv = r->obj->inv;
    char *end;
    unsigned long n;

    if (!name)
        return ocfl_inventory_head(inv);
    n = strtoul(name + (name[0] == 'v'), &end, 10);
    if (*end || n == 0 || n > inv->n_versions) {
        cli_error("object '%s' has no version '%s' (head %s)", inv->id, name, inv->head);
        return NULL;
    }
    return ocfl_inventory_version(inv, (unsigned)n);
}

static const char vsynopsis[] = "show ROOT ID [-v VERSION] [--json]";

/* `show`: a version's logical paths with sizes and digests. */
int cmd_show(int argc, char **argv)
{
    struct reading r;
    const struct ocfl_version *v;
    json_t *doc;
    int c = reading_open(argc, argv, vsynopsis, 0, 0, &r);

    if (c >= 0)
        return c >= 100 ? c - 100 : c;
    if (!(v = pick(&r, r.version))) {
        reading_close(&r);
        return EXIT_FAIL;
    }
    if (!(doc = ocfl_show_json(r.obj, v->num, 0, 0, 0))) {
        cli_error("cannot format JSON: out of memory");
        reading_close(&r);
        return EXIT_FAIL;
    }
    if (r.json) {
        cli_print_json(doc);
    } else {
        json_t *files = json_object_get(doc, "files"), *e;
        size_t i;
        json_array_foreach(files, i, e)
        {
            printf("%12lld  %.16s  %s\n", (long long)json_integer_value(json_object_get(e, "size")),
                   json_string_value(json_object_get(e, "digest")),
                   json_string_value(json_object_get(e, "path")));
        }
        json_decref(doc);
    }
    reading_close(&r);
    return EXIT_OK;
}

/*
 * Copy the content of @digest to @out, verifying the digest as the bytes pass: 0, or an exit
 * status after an error naming @what.
 */
static int copy_verified(const struct reading *r, const char *digest, const char *what, int out)
{
    const char *cp = ocfl_inventory_content_path(r->obj->inv, digest);
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(r->obj->inv->digest_algorithm);
    struct ocfl_hasher *h = NULL;
    char buf[1 << 16], hex[OCFL_DIGEST_HEX_MAX];
    struct ocfl_err err = {0};
    int in, rc = 0;

    if (!cp || (in = ocfl_io_open(r->obj->fd, cp, O_RDONLY, 0)) < 0) {
        cli_error("'%s': its content '%s' cannot be opened", what, cp ? cp : "?");
        return EXIT_FAIL;
    }
    if (ocfl_hasher_new(1u << alg, &h, &err) < 0) {
        close(in);
        return cli_fail(&err);
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0) {
                cli_error("'%s': cannot read '%s': %s", what, cp, strerror(errno));
                rc = EXIT_FAIL;
            }
            break;
        }
        ocfl_hasher_update(h, buf, (size_t)n);
        for (ssize_t done = 0; done < n;) {
            ssize_t k = write(out, buf + done, (size_t)(n - done));
            if (k < 0 && errno != EINTR) {
                cli_error("'%s': cannot write: %s", what, strerror(errno));
                rc = EXIT_FAIL;
                break;
            }
            done += k > 0 ? k : 0;
        }
        if (rc)
            break;
    }
    close(in);
    if (rc == 0 && (ocfl_hasher_final(h, alg, hex) < 0 || !ocfl_digest_equal(hex, digest))) {
        cli_error("'%s': content '%s' does not match its digest (the object is damaged)", what, cp);
        rc = EXIT_FAIL;
    }
    ocfl_hasher_free(h);
    return rc;
}

static const char csynopsis[] = "cat ROOT ID PATH [-v VERSION]";

/* `cat`: one file of a version to stdout, its digest verified. */
int cmd_cat(int argc, char **argv)
{
    struct reading r;
    const struct ocfl_version *v;
    const struct ocfl_state_entry *e;
    int c = reading_open(argc, argv, csynopsis, 1, 1, &r);

    if (c >= 0)
        return c >= 100 ? c - 100 : c;
    if (!(v = pick(&r, r.version))) {
        reading_close(&r);
        return EXIT_FAIL;
    }
    if (!(e = ocfl_version_lookup(v, r.pos[0]))) {
        cli_error("'%s': no such file in version %u of '%s'", r.pos[0], v->num, r.obj->inv->id);
        reading_close(&r);
        return EXIT_FAIL;
    }
    c = copy_verified(&r, e->digest, r.pos[0], STDOUT_FILENO);
    reading_close(&r);
    return c;
}

static const char dsynopsis[] = "diff ROOT ID [VA [VB]] [--json]";

/*
 * `diff`: what changed from VA (default the version before VB) to VB (default the head):
 * added, modified, removed, and renamed (a removed path whose digest an added one has).
 */
int cmd_diff(int argc, char **argv)
{
    struct reading r;
    const struct ocfl_version *a, *b;
    json_t *doc, *added, *modified, *removed, *renamed;
    int c = reading_open(argc, argv, dsynopsis, 0, 2, &r);

    if (c >= 0)
        return c >= 100 ? c - 100 : c;
    b = pick(&r, r.n_pos > 1 ? r.pos[1] : NULL);
    if (!b)
        a = NULL;
    else if (r.n_pos > 0)
        a = pick(&r, r.pos[0]);
    else /* the version before; none before v1 (everything added) */
        a = b->num > 1 ? ocfl_inventory_version(r.obj->inv, b->num - 1) : NULL;
    if (!b || (r.n_pos > 0 && !a)) {
        reading_close(&r);
        return EXIT_FAIL;
    }
    if (!(doc = ocfl_diff_json(r.obj->inv, a, b))) {
        cli_error("cannot format JSON: out of memory");
        reading_close(&r);
        return EXIT_FAIL;
    }
    added = json_object_get(doc, "added"), modified = json_object_get(doc, "modified");
    removed = json_object_get(doc, "removed"), renamed = json_object_get(doc, "renamed");
    if (r.json) {
        cli_print_json(doc);
    } else {
        size_t k;
        json_t *m;
        json_array_foreach(added, k, m) printf("A  %s\n", json_string_value(m));
        json_array_foreach(modified, k, m) printf("M  %s\n", json_string_value(m));
        json_array_foreach(removed, k, m) printf("D  %s\n", json_string_value(m));
        json_array_foreach(renamed, k, m)
            printf("R  %s -> %s\n", json_string_value(json_object_get(m, "from")),
                   json_string_value(json_object_get(m, "to")));
        json_decref(doc);
    }
    reading_close(&r);
    return EXIT_OK;
}

static const char esynopsis[] = "export ROOT ID DIR [-v VERSION]";

/* `export`: a version's tree into the new directory DIR, each file's digest verified. */
int cmd_export(int argc, char **argv)
{
    struct reading r;
    const struct ocfl_version *v;
    struct ocfl_err err = {0};
    int c = reading_open(argc, argv, esynopsis, 1, 1, &r), dir, status = EXIT_OK;

    if (c >= 0)
        return c >= 100 ? c - 100 : c;
    if (!(v = pick(&r, r.version))) {
        reading_close(&r);
        return EXIT_FAIL;
    }
    if (mkdir(r.pos[0], 0755) < 0 ||
        (dir = open(r.pos[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        cli_error("export: cannot make the new directory '%s': %s", r.pos[0], strerror(errno));
        reading_close(&r);
        return EXIT_FAIL;
    }
    for (size_t i = 0; status == EXIT_OK && i < v->n_state; i++) {
        const struct ocfl_state_entry *e = &v->state[i];
        const char *slash = strrchr(e->logical_path, '/');
        char *parent = slash ? strndup(e->logical_path, (size_t)(slash - e->logical_path)) : NULL;
        int out;
        /* beneath DIR only: logical paths are checked (no "..", no absolute) on the way */
        if ((slash && (!parent || ocfl_io_mkdirs(dir, parent, 0755, &err) < 0)) ||
            (out = ocfl_io_open(dir, e->logical_path, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0) {
            cli_error("export: cannot create '%s/%s': %s", r.pos[0], e->logical_path,
                      err.msg[0] ? err.msg : "refused");
            status = EXIT_FAIL;
        } else {
            status = copy_verified(&r, e->digest, e->logical_path, out);
            if (fsync(out) < 0 && status == EXIT_OK) {
                cli_error("export: cannot fsync '%s': %s", e->logical_path, strerror(errno));
                status = EXIT_FAIL;
            }
            close(out);
        }
        free(parent);
    }
    close(dir);
    if (status == EXIT_OK && !r.json)
        printf("%s: %zu files of version %u exported to %s, every digest verified\n",
               r.obj->inv->id, v->n_state, v->num, r.pos[0]);
    reading_close(&r);
    return status;
}
