/* validate_root.c: validate an OCFL storage root: declaration, layout, hierarchy, then each object.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "layout.h"
#include "validate_int.h"

/* Deepest storage hierarchy walked. */
#define MAX_DEPTH 64

struct robj {
    char *path;
    char *id;
    unsigned depth;
};

struct rctx {
    struct vctx c; /* the root's own findings: fd = root, prefix "" */
    struct ocfl_layout *layout;
    struct robj *objs;
    size_t n_objs;
};

/* How far ocfl_validate_detect() looks for an object below an undeclared root. */
#define DETECT_DEPTH 16
#define DETECT_DIRS  10000

/* Whether an object root lies at most @depth levels below @rel; *budget counts the
 * directories listed so far, down to 0 (then the answer is no). */
static int holds_object(int fd, const char *rel, int depth, size_t *budget)
{
    struct vdent *d = NULL;
    int n, found = 0;
    char path[4096];

    if (!*budget)
        return 0;
    --*budget;
    n = val_list_dir(fd, rel, &d);
    for (int i = 0; i < n && !found; i++)
        found = !strncmp(d[i].name, "0=ocfl_object_", 14);
    for (int i = 0; i < n && !found && depth > 0; i++)
        if (d[i].type == VT_DIR && snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "",
                                            d[i].name) < (int)sizeof(path))
            found = holds_object(fd, path, depth - 1, budget);
    val_free_dents(d, n > 0 ? (size_t)n : 0);
    return found;
}

int ocfl_validate_detect(int dirfd, const char *path, struct ocfl_err *err)
{
    struct vdent *d = NULL;
    int fd, n, kind = OCFL_VALIDATE_NEITHER, layout = 0;
    size_t budget = DETECT_DIRS;
    struct stat st;

    /* O_NONBLOCK: a FIFO must not hang the question */
    fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return ocfl_err_sys(err, -errno, "cannot open '%s'", path);
    if (fstat(fd, &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
        close(fd);
        return ocfl_err_set(err, -EINVAL, "'%s' is neither a directory nor a file", path);
    }
    if (S_ISREG(st.st_mode)) {
        close(fd);
        return OCFL_VALIDATE_INVENTORY;
    }
    n = val_list_dir(fd, ".", &d);
    if (n < 0) {
        close(fd);
        return ocfl_err_sys(err, n, "cannot list '%s'", path);
    }
    for (int i = 0; i < n; i++) {
        if (!strncmp(d[i].name, "0=ocfl_object_", 14))
            kind = OCFL_VALIDATE_OBJECT;
        else if (!strncmp(d[i].name, "0=ocfl_", 7) && kind == OCFL_VALIDATE_NEITHER)
            kind = OCFL_VALIDATE_ROOT;
        layout |= !strcmp(d[i].name, "ocfl_layout.json");
    }
    val_free_dents(d, (size_t)n);
    if (kind == OCFL_VALIDATE_NEITHER && (layout || holds_object(fd, "", DETECT_DEPTH, &budget)))
        kind = OCFL_VALIDATE_ROOT; /* a storage root without its declaration */
    close(fd);
    return kind;
}

/* ocfl_layout.json: E070 E071; loads the layout for the placement check. */
static void check_layout(struct rctx *r)
{
    struct vctx *c = &r->c;
    char *buf = NULL, *config = NULL, cfgpath[512];
    size_t len = 0, clen = 0;
    json_t *j, *ext, *desc;
    json_error_t jerr;

    if (ocfl_io_read_file(c->fd, "ocfl_layout.json", VAL_LAYOUT_MAX, &buf, &len, NULL) < 0) {
        vreport(c, OCFL_CK_LAYOUT_BAD, "ocfl_layout.json", "cannot read ocfl_layout.json");
        return;
    }
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!j || !json_is_object(j)) {
        vreport(c, OCFL_CK_LAYOUT_BAD, "ocfl_layout.json", "ocfl_layout.json is not a JSON object");
        json_decref(j);
        return;
    }
    ext = json_object_get(j, "extension");
    desc = json_object_get(j, "description");
    if (!json_is_string(ext) || !json_is_string(desc))
        vreport(c, OCFL_CK_LAYOUT_BAD, "ocfl_layout.json",
                "ocfl_layout.json needs the string keys 'extension' and 'description'");
    if (json_is_string(ext) && !val_extension_registered(json_string_value(ext)))
        vreport(c, OCFL_CK_LAYOUT_UNKNOWN, "ocfl_layout.json",
                "'%s' is not a registered layout extension", json_string_value(ext));
    if (json_is_string(ext) && snprintf(cfgpath, sizeof(cfgpath), "extensions/%s/config.json",
                                        json_string_value(ext)) < (int)sizeof(cfgpath)) {
        if (ocfl_io_read_file(c->fd, cfgpath, VAL_LAYOUT_MAX, &config, &clen, NULL) < 0)
            config = NULL;
        if (ocfl_layout_new(json_string_value(ext), config, &r->layout, NULL) < 0)
            r->layout = NULL;
        free(config);
    }
    json_decref(j);
}

/* The root's extensions/: E112 W016. */
static void check_root_extensions(struct vctx *c)
{
    struct vdent *d = NULL;
    int n = val_list_dir(c->fd, "extensions", &d);
    char rel[300];

    for (int i = 0; i < n; i++) {
        snprintf(rel, sizeof(rel), "extensions/%s", d[i].name);
        if (d[i].type != VT_DIR)
            vreport(c, OCFL_CK_ROOT_EXT_FILE, rel,
                    "'%s': only extension directories may be in extensions/", rel);
        else if (!val_extension_registered(d[i].name))
            vreport(c, OCFL_CK_ROOT_EXT_UNKNOWN, rel, "'%s' is not a registered extension", rel);
    }
    val_free_dents(d, n > 0 ? (size_t)n : 0);
}

/* An object inside the extra directories of an object: E082. */
static void find_nested(struct rctx *r, const char *rel, int depth)
{
    struct vdent *d = NULL;
    int n = val_list_dir(r->c.fd, rel, &d);
    char path[4096];

    for (int i = 0; i < n; i++) {
        if (snprintf(path, sizeof(path), "%s/%s", rel, d[i].name) >= (int)sizeof(path))
            continue;
        if (!strncmp(d[i].name, "0=ocfl_object_", 14))
            vreport(&r->c, OCFL_CK_ROOT_NESTED_OBJECT, rel,
                    "object root '%s' is inside another object", rel);
        else if (d[i].type == VT_DIR && depth < MAX_DEPTH)
            find_nested(r, path, depth + 1);
    }
    val_free_dents(d, n > 0 ? (size_t)n : 0);
}

static int validate_object_in_root(struct rctx *r, const char *rel, unsigned depth)
{
    struct vobj_info info = {0};
    struct vctx oc = r->c;
    struct vdent *d = NULL;
    char prefix[4200];
    struct robj *no;
    int fd, rc, n;

    if (snprintf(prefix, sizeof(prefix), "%s/", rel) >= (int)sizeof(prefix))
        return 0;
    fd = ocfl_io_open(r->c.fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) {
        vreport(&r->c, OCFL_CK_ROOT_UNREADABLE, rel, "cannot open object '%s': %s", rel,
                strerror(-fd));
        return 0;
    }
    oc.fd = fd;
    oc.prefix = prefix;
    oc.spec = OCFL_SPEC_UNKNOWN;
    rc = val_object_at(&oc, &info);
    r->c.progress_base = oc.progress_base;
    if (rc < 0) {
        close(fd);
        free(info.id);
        return rc;
    }
    if (info.spec && r->c.spec && info.spec > r->c.spec)
        vreport(&r->c, OCFL_CK_ROOT_LATER_OBJECT, rel,
                "object '%s' is OCFL %s, later than the root's %s", rel,
                ocfl_spec_number(info.spec), ocfl_spec_number(r->c.spec));
    /* objects hidden in an object's extra directories */
    n = val_list_dir(fd, ".", &d);
    close(fd);
    for (int i = 0; i < n; i++) {
        char sub[4400];
        const char *nm = d[i].name;
        if (d[i].type != VT_DIR || (nm[0] == 'v' && strspn(nm + 1, "0123456789") == strlen(nm + 1)))
            continue;
        if (snprintf(sub, sizeof(sub), "%s/%s", rel, nm) < (int)sizeof(sub))
            find_nested(r, sub, 0);
    }
    val_free_dents(d, n > 0 ? (size_t)n : 0);
    no = realloc(r->objs, (r->n_objs + 1) * sizeof(*no));
    if (!no) {
        free(info.id);
        return -ENOMEM;
    }
    r->objs = no;
    no[r->n_objs].path = strdup(rel);
    no[r->n_objs].id = info.id;
    no[r->n_objs].depth = depth;
    if (!no[r->n_objs].path) {
        free(info.id);
        return -ENOMEM;
    }
    r->n_objs++;
    return 0;
}

/* The storage hierarchy below @rel: E072 E073 E084 E085 E090, objects. */
static int walk_hierarchy(struct rctx *r, const char *rel, unsigned depth)
{
    struct vdent *d = NULL;
    int n, rc = 0, n_dirs = 0;
    char path[4096];

    n = val_list_dir(r->c.fd, rel, &d);
    if (n == -ENOMEM)
        return n;
    if (n < 0) {
        vreport(&r->c, OCFL_CK_ROOT_UNREADABLE, rel, "cannot list '%s': %s", rel, strerror(-n));
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!strncmp(d[i].name, "0=ocfl_object_", 14)) {
            val_free_dents(d, (size_t)n);
            return validate_object_in_root(r, rel, depth);
        }
    if (n == 0)
        vreport(&r->c, OCFL_CK_ROOT_EMPTY_DIR, rel, "empty directory '%s' in the storage root",
                rel);
    for (int i = 0; i < n; i++)
        n_dirs += d[i].type == VT_DIR;
    for (int i = 0; i < n && rc == 0; i++) {
        if (snprintf(path, sizeof(path), "%s/%s", rel, d[i].name) >= (int)sizeof(path))
            continue;
        if (d[i].type == VT_REG) {
            /* both E072 (not part of an object) with the rule for where it is */
            vreport(&r->c, n_dirs ? OCFL_CK_ROOT_FILE_BETWEEN : OCFL_CK_ROOT_FILE_UNENDED, path,
                    n_dirs
                        ? "file '%s' is not part of an object: it is in an intermediate directory"
                        : "file '%s' is not part of an object: it is in a directory that is "
                          "not an object root",
                    path);
        } else if (d[i].type == VT_DIR && depth < MAX_DEPTH) {
            rc = walk_hierarchy(r, path, depth + 1);
        } else if (d[i].type == VT_DIR) {
            vreport(&r->c, OCFL_CK_ROOT_TOO_DEEP, path, "'%s' is nested too deep", path);
        } else {
            vreport(&r->c, OCFL_CK_ROOT_LINK, path, "'%s' is a link or special file", path);
        }
    }
    val_free_dents(d, (size_t)n);
    return rc;
}

static int cmp_robj_id(const void *a, const void *b)
{
    const struct robj *x = a, *y = b;
    if (!x->id || !y->id)
        return !x->id - !y->id;
    return strcmp(x->id, y->id);
}

/* After the walk: W014 W015 E037. */
static void check_placement(struct rctx *r)
{
    int top = 0, deep = 0;

    for (size_t i = 0; i < r->n_objs; i++) {
        struct robj *o = &r->objs[i];
        char *mapped = NULL;
        if (o->depth == 1)
            top = 1;
        else
            deep = 1;
        if (r->layout && o->id && ocfl_layout_map(r->layout, o->id, &mapped, NULL) == 0 &&
            strcmp(mapped, o->path))
            vreport(&r->c, OCFL_CK_ROOT_MISPLACED, o->path,
                    "object '%s' is at '%s', the layout says '%s'", o->id, o->path, mapped);
        free(mapped);
    }
    if (top && deep)
        vreport(&r->c, OCFL_CK_ROOT_MIXED_DEPTH, NULL,
                "objects are both top-level and in a directory hierarchy");
    if (r->n_objs > 1)
        qsort(r->objs, r->n_objs, sizeof(*r->objs), cmp_robj_id);
    for (size_t i = 1; i < r->n_objs; i++)
        if (r->objs[i].id && r->objs[i - 1].id && !strcmp(r->objs[i].id, r->objs[i - 1].id))
            vreport(&r->c, OCFL_CK_ROOT_DUP_ID, r->objs[i].path, "id '%s' is also used by '%s'",
                    r->objs[i].id, r->objs[i - 1].path);
}

int ocfl_validate_root(int dirfd, const char *path, const struct ocfl_validate_opts *opts,
                       struct ocfl_report *report, struct ocfl_err *err)
{
    struct ocfl_validate_opts defaults;
    struct rctx r = {.c = {.prefix = "", .report = report}};
    struct vdent *d = NULL;
    int n, rc = 0;

    if (!opts) {
        ocfl_validate_opts_init(&defaults);
        opts = &defaults;
    }
    r.c.opts = opts;
    r.c.fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r.c.fd < 0)
        return ocfl_err_sys(err, -errno, "cannot open '%s'", path);
    n = val_list_dir(r.c.fd, ".", &d);
    if (n < 0) {
        rc = ocfl_err_sys(err, n, "cannot list '%s'", path);
        goto out;
    }
    val_check_declaration(&r.c, d, (size_t)n, &val_decl_root);
    for (int i = 0; i < n && rc == 0; i++) {
        const char *name = d[i].name;
        if (strspn(name, "0123456789") && strchr(name, '='))
            continue;
        if (!strcmp(name, "ocfl_layout.json") && d[i].type == VT_REG)
            check_layout(&r);
        else if (!strcmp(name, "extensions") && d[i].type == VT_DIR)
            check_root_extensions(&r.c);
        else if (d[i].type == VT_DIR)
            rc = walk_hierarchy(&r, name, 1);
        else if (d[i].type != VT_REG)
            vreport(&r.c, OCFL_CK_ROOT_LINK, name, "'%s' is a link or special file", name);
        /* other files at the top: E087, a validator ignores what it does not understand */
    }
    if (rc < 0) {
        rc = ocfl_err_sys(err, rc, "cannot validate '%s'", path);
        goto out;
    }
    check_placement(&r);
out:
    val_free_dents(d, n > 0 ? (size_t)n : 0);
    for (size_t i = 0; i < r.n_objs; i++) {
        free(r.objs[i].path);
        free(r.objs[i].id);
    }
    free(r.objs);
    ocfl_layout_free(r.layout);
    close(r.c.fd);
    return rc;
}
