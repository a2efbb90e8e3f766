/* validate_object.c: validate one OCFL object: root entries, declaration, inventories, sidecars,
 * version dirs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "json_doc.h"
#include "validate_int.h"

/* Deepest directory nesting walked inside a content directory. */
#define MAX_DEPTH 256

void ocfl_validate_opts_init(struct ocfl_validate_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->check_digests = 1;
}

/* Extensions registered at https://ocfl.io/extensions/ (W013, W016). */
static const char *const registered_extensions[] = {
    "0001-digest-algorithms",
    "0002-flat-direct-storage-layout",
    "0003-hash-and-id-n-tuple-storage-layout",
    "0004-hashed-n-tuple-storage-layout",
    "0005-mutable-head",
    "0006-flat-omit-prefix-storage-layout",
    "0007-n-tuple-omit-prefix-storage-layout",
    "0008-schema-registry",
    "0009-digest-algorithms",
    "0010-differential-versioning",
    "0011-direct-clean-path-layout",
    NULL,
};

int val_extension_registered(const char *name)
{
    for (size_t i = 0; registered_extensions[i]; i++)
        if (!strcmp(name, registered_extensions[i]))
            return 1;
    return 0;
}

static void vreport_va(struct vctx *c, enum ocfl_check ck, const char *inv, const char *rel,
                       const char *fmt, va_list ap)
{
    const char *prefix = c->prefix ? c->prefix : "";
    char *path = NULL, *ipath = NULL;

    if (asprintf(&path, "%s%s", prefix, rel ? rel : "") < 0)
        path = NULL;
    if (inv && asprintf(&ipath, "%s%s", prefix, inv) < 0)
        ipath = NULL;
    if (!path || (inv && !ipath)) {
        /* still counted, at the object; the run fails with -ENOMEM */
        c->oom = 1;
        ocfl_report_vcheck(c->report, ck, c->spec, NULL, prefix, fmt, ap);
    } else {
        ocfl_report_vcheck(c->report, ck, c->spec, ipath, inv && !rel ? NULL : path, fmt, ap);
    }
    free(path);
    free(ipath);
}

void vreport(struct vctx *c, enum ocfl_check ck, const char *rel, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport_va(c, ck, NULL, rel, fmt, ap);
    va_end(ap);
}

void vreport_inv(struct vctx *c, enum ocfl_check ck, const char *inv, const char *rel,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport_va(c, ck, inv, rel, fmt, ap);
    va_end(ap);
}

static int cmp_dent(const void *a, const void *b)
{
    return strcmp(((const struct vdent *)a)->name, ((const struct vdent *)b)->name);
}

void val_free_dents(struct vdent *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++)
        free(d[i].name);
    free(d);
}

int val_list_dir(int dirfd, const char *path, struct vdent **ret)
{
    struct vdent *v = NULL;
    size_t n = 0, alloc = 0;
    struct dirent *de;
    DIR *dir;
    int fd, rc = 0;

    fd = ocfl_io_open(dirfd, path && *path ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    dir = fdopendir(fd);
    if (!dir) {
        rc = -errno;
        close(fd);
        return rc;
    }
    while ((errno = 0, de = readdir(dir))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == alloc) {
            size_t na = alloc ? alloc * 2 : 16;
            struct vdent *nv = realloc(v, na * sizeof(*nv));
            if (!nv) {
                rc = -ENOMEM;
                goto fail;
            }
            v = nv;
            alloc = na;
        }
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = -errno;
            goto fail;
        }
        v[n].name = strdup(de->d_name);
        if (!v[n].name) {
            rc = -ENOMEM;
            goto fail;
        }
        v[n].type = S_ISREG(st.st_mode)   ? VT_REG
                    : S_ISDIR(st.st_mode) ? VT_DIR
                    : S_ISLNK(st.st_mode) ? VT_LNK
                                          : VT_OTHER;
        v[n].size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
        n++;
    }
    if (errno) {
        rc = -errno;
        goto fail;
    }
    closedir(dir);
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_dent);
    *ret = v;
    return (int)n;
fail:
    closedir(dir);
    val_free_dents(v, n);
    return rc;
}

static const struct vdent *find_dent(const struct vdent *d, size_t n, const char *name)
{
    struct vdent key = {.name = (char *)name};

    if (!n)
        return NULL;
    return bsearch(&key, d, n, sizeof(*d), cmp_dent);
}

/* "v" followed by decimal digits, not "v0": the version number, else 0. */
static unsigned version_dir_num(const char *name)
{
    unsigned long num = 0;

    if (name[0] != 'v' || !name[1] || strlen(name) > 10)
        return 0;
    for (const char *p = name + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        num = num * 10 + (unsigned long)(*p - '0');
    }
    return num > 0 && num <= OCFL_MAX_VERSIONS ? (unsigned)num : 0;
}

unsigned val_path_version(const char *path)
{
    char name[16];
    size_t len = strcspn(path, "/");

    if (len >= sizeof(name) || !path[len])
        return 0;
    memcpy(name, path, len);
    name[len] = '\0';
    return version_dir_num(name);
}

/* Read and check @dir's inventory ("" = root) into @vi; 0 or -ENOMEM. */
static int read_inventory(struct vctx *c, const char *dir, struct vinv *vi)
{
    char where[300];
    int rc;

    snprintf(vi->where, sizeof(vi->where), "%s%sinventory.json", dir, *dir ? "/" : "");
    rc = ocfl_io_read_file(c->fd, vi->where, OCFL_INVENTORY_MAX_BYTES, &vi->buf, &vi->len, NULL);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        vi->buf = NULL;
        vreport(c, *dir ? OCFL_CK_VDIR_NO_INVENTORY : OCFL_CK_OBJ_NO_INVENTORY, vi->where,
                "cannot read '%s': %s", vi->where, strerror(-rc));
        return 0;
    }
    if (snprintf(where, sizeof(where), "%s%s", c->prefix, vi->where) >= (int)sizeof(where))
        snprintf(where, sizeof(where), "%s", vi->where);
    return ocfl_inventory_check(vi->buf, vi->len, where, c->spec, c->report, &vi->inv);
}

/* The digest of @buf in @alg_name as hex; 0, or -ENOTSUP / -ENOMEM. */
static int digest_buf(const char *alg_name, const char *buf, size_t len,
                      char hex[OCFL_DIGEST_HEX_MAX])
{
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(alg_name);
    struct ocfl_hasher *h;
    int rc;

    if (alg == OCFL_DIGEST_UNKNOWN || alg == OCFL_DIGEST_SIZE)
        return -ENOTSUP;
    rc = ocfl_hasher_new(1u << alg, &h, NULL);
    if (rc < 0)
        return rc;
    ocfl_hasher_update(h, buf, len);
    rc = ocfl_hasher_final(h, alg, hex);
    ocfl_hasher_free(h);
    return rc;
}

/*
 * The sidecar of @vi in directory @dir (entries @d): E058 E061 E060.
 * Returns the sidecar's entry name (for the E001/E015 checks) or NULL.
 */
static const char *check_sidecar(struct vctx *c, const char *dir, const struct vdent *d, size_t n,
                                 const struct vinv *vi)
{
    const char *alg = vi->inv ? vi->inv->digest_algorithm : NULL;
    const struct vdent *sc = NULL;
    char name[64], rel[128], hex[OCFL_DIGEST_HEX_MAX];
    char *buf = NULL;
    size_t len = 0, hexlen;

    if (!vi->buf)
        return NULL;
    if (alg && snprintf(name, sizeof(name), "inventory.json.%s", alg) < (int)sizeof(name))
        sc = find_dent(d, n, name);
    if (!alg) { /* unparsable inventory: take whatever sidecar there is */
        for (size_t i = 0; i < n && !sc; i++)
            if (!strncmp(d[i].name, "inventory.json.", 15))
                sc = &d[i];
        alg = sc ? sc->name + 15 : NULL;
    }
    snprintf(rel, sizeof(rel), "%s%sinventory.json.%s", dir, *dir ? "/" : "", alg ? alg : "ALG");
    if (!sc || sc->type != VT_REG) {
        vreport(c, OCFL_CK_SIDECAR_MISSING, rel, "inventory sidecar '%s' is missing", rel);
        return NULL;
    }
    int rc = ocfl_io_read_file(c->fd, rel, VAL_SMALL_FILE_MAX, &buf, &len, NULL);
    if (rc == -ENOMEM) {
        c->oom = 1;
        return sc->name;
    }
    if (rc < 0) {
        vreport(c, OCFL_CK_SIDECAR_MISSING, rel, "cannot read inventory sidecar '%s'", rel);
        return sc->name;
    }
    /* DIGEST, whitespace, "inventory.json", an optional newline */
    hexlen = strspn(buf, "0123456789abcdefABCDEF");
    {
        size_t ws = strspn(buf + hexlen, " \t");
        const char *rest = buf + hexlen + ws;
        if (!hexlen || !ws || strncmp(rest, "inventory.json", 14) ||
            (rest[14] && strcmp(rest + 14, "\n")) || hexlen >= OCFL_DIGEST_HEX_MAX) {
            vreport(c, OCFL_CK_SIDECAR_FORMAT, rel, "sidecar '%s' is not 'DIGEST inventory.json'",
                    rel);
            free(buf);
            return sc->name;
        }
    }
    buf[hexlen] = '\0';
    rc = digest_buf(alg, vi->buf, vi->len, hex);
    if (rc == -ENOMEM)
        c->oom = 1; /* unchecked is not valid */
    else if (rc == 0 && !ocfl_digest_equal(hex, buf))
        vreport(c, OCFL_CK_SIDECAR_DIGEST, rel, "'%s' says %s but the inventory's digest is %s",
                rel, buf, hex);
    free(buf);
    return sc->name;
}

/* extensions/ of an object: E067 W013. */
static void check_extensions(struct vctx *c)
{
    struct vdent *d = NULL;
    int n = val_list_dir(c->fd, "extensions", &d);
    char rel[300];

    for (int i = 0; i < n; i++) {
        snprintf(rel, sizeof(rel), "extensions/%s", d[i].name);
        if (d[i].type != VT_DIR)
            vreport(c, OCFL_CK_OBJ_EXT_FILE, rel,
                    "'%s': only extension directories may be in extensions/", rel);
        else if (!val_extension_registered(d[i].name))
            vreport(c, OCFL_CK_OBJ_EXT_UNKNOWN, rel, "'%s' is not a registered extension", rel);
    }
    val_free_dents(d, n > 0 ? (size_t)n : 0);
}

/* Walk a content directory: files into o->files, E024 for empty dirs, E090 links. */
static int walk_content(struct vobj *o, struct vver *v, const char *rel, int depth)
{
    struct vdent *d = NULL;
    int n = val_list_dir(o->c->fd, rel, &d), rc = 0;
    char *path = NULL;

    if (n == -ENOMEM)
        return n;
    if (n < 0) {
        vreport(o->c, OCFL_CK_CONTENT_UNREADABLE, rel, "cannot list '%s': %s", rel, strerror(-n));
        return 0;
    }
    if (n == 0 && depth > 0)
        vreport(o->c, OCFL_CK_CONTENT_EMPTY_DIR, rel, "empty directory '%s' in a content directory",
                rel);
    for (int i = 0; i < n && rc == 0; i++) {
        free(path);
        if (asprintf(&path, "%s/%s", rel, d[i].name) < 0) {
            path = NULL;
            rc = -ENOMEM;
            break;
        }
        if (d[i].type == VT_REG) {
            rc = vfiles_add(&o->files, path, d[i].size);
            v->n_files++;
        } else if (d[i].type == VT_DIR && depth < MAX_DEPTH) {
            rc = walk_content(o, v, path, depth + 1);
        } else if (d[i].type == VT_DIR) {
            vreport(o->c, OCFL_CK_CONTENT_UNREADABLE, path, "'%s' nested too deep to check", path);
        } else {
            vreport(o->c, OCFL_CK_CONTENT_LINK, path, "'%s' is not a regular file or directory",
                    path);
        }
    }
    free(path);
    val_free_dents(d, (size_t)n);
    return rc;
}

/* One version directory: E015 W002 W010 W003 E058/E060/E061, its content files. */
static int check_version_dir(struct vobj *o, struct vver *v)
{
    struct vctx *c = o->c;
    const char *cdir = o->root.inv ? ocfl_inventory_content_dir(o->root.inv) : "content";
    const char *sidecar;
    struct vdent *d = NULL;
    char rel[300];
    int n, rc;

    n = val_list_dir(c->fd, v->name, &d);
    if (n < 0)
        return n == -ENOMEM ? n : 0;
    if (find_dent(d, (size_t)n, "inventory.json")) {
        rc = read_inventory(c, v->name, &v->vi);
        if (rc < 0)
            goto out;
    } else {
        vreport(c, OCFL_CK_VDIR_NO_INVENTORY, v->name, "version directory '%s' has no inventory",
                v->name);
    }
    sidecar = check_sidecar(c, v->name, d, (size_t)n, &v->vi);
    for (int i = 0; i < n; i++) {
        const char *name = d[i].name;
        snprintf(rel, sizeof(rel), "%s/%s", v->name, name);
        if (!strcmp(name, "inventory.json") && d[i].type == VT_REG)
            continue;
        if (sidecar && !strcmp(name, sidecar))
            continue;
        if (!strcmp(name, cdir) && d[i].type == VT_DIR) {
            v->has_content = 1;
            rc = walk_content(o, v, rel, 0);
            if (rc < 0)
                goto out;
            if (!v->n_files)
                vreport(c, OCFL_CK_CONTENT_DIR_EMPTY, rel, "content directory '%s' holds no file",
                        rel);
        } else if (d[i].type == VT_DIR) {
            vreport(c, OCFL_CK_VDIR_EXTRA_DIR, rel, "extra directory '%s' in a version directory",
                    rel);
        } else {
            vreport(c, OCFL_CK_VDIR_EXTRA_FILE, rel,
                    "'%s': only the inventory, its sidecar and '%s' may be here", rel, cdir);
        }
    }
    rc = 0;
out:
    val_free_dents(d, (size_t)n);
    return rc;
}

static int cmp_vver(const void *a, const void *b)
{
    unsigned x = ((const struct vver *)a)->num, y = ((const struct vver *)b)->num;
    return x < y ? -1 : x > y;
}

/* Version directory names and sequence against each other and the inventory:
 * E008 E009 E010 E011 E012 E013 E046. */
static void check_version_names(struct vobj *o)
{
    struct vctx *c = o->c;
    const struct ocfl_inventory *inv = o->root.inv;
    size_t width = o->n_vers ? strlen(o->vers[0].name) : 0;
    int padded = o->n_vers && o->vers[0].name[1] == '0';
    char name[32];

    /* With versions in the inventory the rule their missing directories break is E046. */
    if (!o->n_vers && (!inv || !inv->n_versions))
        vreport(c, OCFL_CK_NO_VERSION_DIRS, NULL, "the object has no version directory");
    if (o->n_vers && o->vers[0].num != 1)
        vreport(c, OCFL_CK_VDIRS_START, o->vers[0].name,
                "versions do not start at 1 (first is '%s')", o->vers[0].name);
    for (size_t i = 0; i < o->n_vers; i++) {
        const char *nm = o->vers[i].name;
        if (i > 0 && o->vers[i].num == o->vers[i - 1].num)
            vreport(c, OCFL_CK_VDIRS_SAME_NUMBER, nm, "'%s' and '%s' name the same version",
                    o->vers[i - 1].name, nm);
        else if (i > 0 && o->vers[i].num != o->vers[i - 1].num + 1)
            vreport(c, OCFL_CK_VDIRS_GAP, nm, "versions skip from '%s' to '%s'",
                    o->vers[i - 1].name, nm);
        if (padded && nm[1] != '0') {
            vreport(c, OCFL_CK_VDIRS_PAD_PREFIX, nm, "'%s' breaks the zero-padded naming of '%s'",
                    nm, o->vers[0].name);
        } else if (strlen(nm) != width && (padded || nm[1] == '0')) {
            vreport(c, OCFL_CK_VDIRS_MIXED, nm, "'%s' and '%s' use different version naming", nm,
                    o->vers[0].name);
        }
    }
    if (!inv)
        return;
    for (unsigned k = 1; k <= inv->n_versions; k++) {
        int found = 0;
        if (ocfl_inventory_version_name(inv, k, name, sizeof(name)) < 0)
            continue;
        for (size_t i = 0; i < o->n_vers && !found; i++)
            found = !strcmp(o->vers[i].name, name);
        if (!found)
            vreport(c, OCFL_CK_VDIR_MISSING, name, "version '%s' of the inventory has no directory",
                    name);
    }
    for (size_t i = 0; i < o->n_vers; i++) {
        const struct vver *v = &o->vers[i];
        if (v->num > inv->n_versions)
            vreport(c, OCFL_CK_VDIR_UNKNOWN, v->name,
                    "version directory '%s' is not in the root inventory", v->name);
        else if (ocfl_inventory_version_name(inv, v->num, name, sizeof(name)) == 0 &&
                 strcmp(name, v->name))
            vreport(c, OCFL_CK_VDIR_UNKNOWN, v->name,
                    "version directory '%s' is named '%s' in the inventory", v->name, name);
    }
}

/* What an object without a declaration says it is: its root inventory's type, if any. */
static enum ocfl_spec typed_spec(struct vctx *c)
{
    enum ocfl_spec spec = OCFL_SPEC_UNKNOWN;
    struct json_doc *doc = NULL;
    char *buf = NULL, msg[8];
    size_t len = 0;

    if (ocfl_io_read_file(c->fd, "inventory.json", OCFL_INVENTORY_MAX_BYTES, &buf, &len, NULL) < 0)
        return spec;
    if (json_doc_parse(buf, len, &doc, msg, sizeof(msg)) == 0 &&
        json_doc_is(doc, json_doc_root(doc), JSON_K_OBJECT))
        spec = ocfl_spec_from_inventory_type(
            json_doc_str(doc, json_doc_get(doc, json_doc_root(doc), "type")));
    json_doc_free(doc);
    free(buf);
    return spec;
}

static void free_vinv(struct vinv *vi)
{
    free(vi->buf);
    ocfl_inventory_free(vi->inv);
}

int val_object_at(struct vctx *c, struct vobj_info *ret_info)
{
    struct vobj o = {.c = c};
    struct vdent *d = NULL;
    const char *sidecar;
    int n, n_all, rc = 0;

    n_all = n = val_list_dir(c->fd, ".", &d);
    if (n < 0)
        return n;
    /* git cannot store an empty directory: a lone .keep stands for one. */
    if (n == 1 && !strcmp(d[0].name, ".keep") && d[0].type == VT_REG)
        n = 0;
    /* the codes of the version the object says it is, even where its declaration is missing */
    if (!find_dent(d, (size_t)n, "0=ocfl_object_1.0") &&
        !find_dent(d, (size_t)n, "0=ocfl_object_1.1"))
        c->spec = typed_spec(c);
    val_check_declaration(c, d, (size_t)n, &val_decl_object);
    if (find_dent(d, (size_t)n, "inventory.json")) {
        rc = read_inventory(c, "", &o.root);
        if (rc < 0)
            goto out;
    } else {
        vreport(c, OCFL_CK_OBJ_NO_INVENTORY, "inventory.json", "the object has no inventory.json");
    }
    if (o.root.inv && c->spec && o.root.inv->spec != c->spec)
        vreport(c, OCFL_CK_OBJ_INV_TYPE, "inventory.json",
                "inventory type is not that of the declaration (%s)", ocfl_spec_number(c->spec));
    if (!c->spec && o.root.inv)
        c->spec = o.root.inv->spec;
    sidecar = check_sidecar(c, "", d, (size_t)n, &o.root);
    for (int i = 0; i < n; i++) {
        const char *name = d[i].name;
        unsigned num = version_dir_num(name);
        if (!strncmp(name, "0=", 2) || (!strcmp(name, "inventory.json") && d[i].type == VT_REG) ||
            (sidecar && !strcmp(name, sidecar)) ||
            (strspn(name, "0123456789") && strchr(name, '=')))
            continue;
        if (!strcmp(name, "logs") && d[i].type == VT_DIR)
            continue;
        if (!strcmp(name, "extensions") && d[i].type == VT_DIR) {
            check_extensions(c);
            continue;
        }
        if (num && d[i].type == VT_DIR) {
            struct vver *nv = realloc(o.vers, (o.n_vers + 1) * sizeof(*nv));
            if (!nv) {
                rc = -ENOMEM;
                goto out;
            }
            o.vers = nv;
            memset(&o.vers[o.n_vers], 0, sizeof(*nv));
            o.vers[o.n_vers].num = num;
            o.vers[o.n_vers].name = strdup(name);
            if (!o.vers[o.n_vers++].name) {
                rc = -ENOMEM;
                goto out;
            }
            continue;
        }
        if (!strcmp(name, "logs"))
            vreport(c, OCFL_CK_OBJ_LOGS, name, "'logs' should be a directory of log files");
        vreport(c, OCFL_CK_OBJ_EXTRA, name, "'%s' does not belong in an object root%s", name,
                d[i].type == VT_LNK ? " (symbolic link)" : "");
    }
    if (o.n_vers > 1)
        qsort(o.vers, o.n_vers, sizeof(*o.vers), cmp_vver);
    check_version_names(&o);
    for (size_t i = 0; i < o.n_vers; i++) {
        rc = check_version_dir(&o, &o.vers[i]);
        if (rc < 0)
            goto out;
    }
    /* The newest version directory's inventory is the root inventory, byte for byte. */
    if (o.n_vers && o.root.buf) {
        const struct vver *last = &o.vers[o.n_vers - 1];
        if (last->vi.buf &&
            (last->vi.len != o.root.len || memcmp(last->vi.buf, o.root.buf, o.root.len)))
            vreport(c, OCFL_CK_ROOT_INV_NOT_LAST, "inventory.json",
                    "root inventory differs from '%s'", last->vi.where);
    }
    val_compare_versions(&o);
    rc = val_check_content(&o);
    if (rc < 0)
        goto out;
    if (ret_info) {
        ret_info->spec = c->spec;
        ret_info->id = o.root.inv && o.root.inv->id ? strdup(o.root.inv->id) : NULL;
        if (o.root.inv && o.root.inv->id && !ret_info->id)
            c->oom = 1;
    }
out:
    if (rc == 0 && c->oom)
        rc = -ENOMEM;
    val_free_dents(d, (size_t)n_all);
    free_vinv(&o.root);
    for (size_t i = 0; i < o.n_vers; i++) {
        free(o.vers[i].name);
        free_vinv(&o.vers[i].vi);
    }
    free(o.vers);
    vfiles_release(&o.files);
    return rc;
}

int ocfl_validate_object(int dirfd, const char *path, const struct ocfl_validate_opts *opts,
                         struct ocfl_report *report, struct ocfl_err *err)
{
    struct ocfl_validate_opts defaults;
    struct vctx c = {.prefix = "", .report = report};
    int rc;

    if (!opts) {
        ocfl_validate_opts_init(&defaults);
        opts = &defaults;
    }
    c.opts = opts;
    c.fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c.fd < 0)
        return ocfl_err_sys(err, -errno, "cannot open '%s'", path);
    rc = val_object_at(&c, NULL);
    close(c.fd);
    if (rc < 0)
        return ocfl_err_sys(err, rc, "cannot validate '%s'", path);
    return 0;
}
