/* root.c: OCFL storage roots: create, open, and find objects by id. */
#include "root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "json_priv.h"
#include "io.h"

/* ocfl_layout.json and config.json files are small; bound what we read. */
#define CONFIG_MAX (64 * 1024)

static const char *layout_description(const char *name)
{
    static const char *const desc[][2] = {
        {"0002-flat-direct-storage-layout", "Flat Direct Storage Layout"},
        {"0003-hash-and-id-n-tuple-storage-layout",
         "Hashed Truncated N-tuple Trees with Object ID Encapsulating Directory"},
        {"0004-hashed-n-tuple-storage-layout", "Hashed N-tuple Storage Layout"},
        {"0006-flat-omit-prefix-storage-layout", "Flat Omit Prefix Storage Layout"},
        {"0007-n-tuple-omit-prefix-storage-layout", "N Tuple Omit Prefix Storage Layout"},
    };
    for (size_t i = 0; i < sizeof(desc) / sizeof(desc[0]); i++)
        if (!strcmp(desc[i][0], name))
            return desc[i][1];
    return name;
}

/* Serialize @o (consumed) with a trailing newline and write it durably. */
static int write_json(int fd, const char *path, json_t *o, const char *root_path,
                      struct ocfl_err *err)
{
    char *text = o ? ocfl_json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    char *line = NULL;
    int r;

    json_decref(o);
    if (!text || asprintf(&line, "%s\n", text) < 0) {
        free(text);
        return ocfl_err_set(err, -ENOMEM, "cannot write '%s/%s': out of memory", root_path, path);
    }
    free(text);
    r = ocfl_io_write_file_durable(fd, path, line, strlen(line), err);
    free(line);
    return r;
}

/* Make @path a directory (fsyncing its parent when new) and check that it is empty. */
static int make_empty_dir(const char *path, struct ocfl_err *err)
{
    struct dirent *de;
    DIR *d;
    int fd;

    if (mkdir(path, 0755) == 0) {
        char *parent = strdup(path), *slash;
        if (!parent)
            return ocfl_err_set(err, -ENOMEM, "out of memory");
        slash = strrchr(parent, '/');
        if (slash == parent)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        fd = open(slash ? parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        free(parent);
        if (fd >= 0) {
            int r = fsync(fd) < 0 ? -errno : 0;
            close(fd);
            if (r < 0)
                return ocfl_err_sys(err, r, "cannot fsync the parent of '%s'", path);
        }
    } else if (errno != EEXIST) {
        return ocfl_err_sys(err, -errno, "cannot create '%s'", path);
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ocfl_err_sys(err, -errno, "cannot open '%s'", path);
    d = fdopendir(dup(fd));
    if (!d) {
        close(fd);
        return ocfl_err_sys(err, -errno, "cannot read '%s'", path);
    }
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            closedir(d);
            close(fd);
            return ocfl_err_set(err, -EEXIST, "cannot create a storage root in '%s': not empty",
                                path);
        }
    closedir(d);
    return fd;
}

int ocfl_root_create(const char *path, const char *layout_name, const char *config_json,
                     const char *digest, struct ocfl_err *err)
{
    struct ocfl_layout *layout = NULL;
    char *config = NULL, dir[PATH_MAX];
    enum ocfl_digest_alg alg;
    json_t *o;
    int fd = -1, r;

    if (!layout_name)
        layout_name = "0004-hashed-n-tuple-storage-layout";
    if (!digest)
        digest = "sha512";
    alg = ocfl_digest_alg_from_name(digest);
    if (!ocfl_digest_alg_is_content(alg))
        return ocfl_err_set(err, -EINVAL, "digest algorithm '%s' is not sha512 or sha256", digest);
    if ((r = ocfl_layout_new(layout_name, config_json, &layout, err)) < 0)
        return r;
    if ((r = ocfl_layout_config_json(layout, &config, err)) < 0)
        goto out;
    if ((r = fd = make_empty_dir(path, err)) < 0)
        goto out;

    /* the declaration goes last: a root is a root only when all of it is there */
    o = json_object();
    if (o) {
        json_object_set_new(o, "extension", json_string(layout_name));
        json_object_set_new(o, "description", json_string(layout_description(layout_name)));
    }
    if ((r = write_json(fd, "ocfl_layout.json", o, path, err)) < 0)
        goto out;
    if (strcmp(layout_name, "0002-flat-direct-storage-layout")) {
        r = snprintf(dir, sizeof(dir), "extensions/%s/config.json", layout_name);
        if (r < 0 || (size_t)r >= sizeof(dir)) {
            r = ocfl_err_set(err, -ENAMETOOLONG, "layout name too long");
            goto out;
        }
        *strrchr(dir, '/') = '\0';
        if ((r = ocfl_io_mkdirs(fd, dir, 0755, err)) < 0)
            goto out;
        strcat(dir, "/config.json");
        if ((r = ocfl_io_write_file_durable(fd, dir, config, strlen(config), err)) < 0)
            goto out;
    }
    if ((r = ocfl_io_mkdirs(fd, "extensions/ocflfs", 0755, err)) < 0)
        goto out;
    o = json_object();
    if (o)
        json_object_set_new(o, "digestAlgorithm", json_string(ocfl_digest_alg_name(alg)));
    if ((r = write_json(fd, "extensions/ocflfs/config.json", o, path, err)) < 0)
        goto out;
    r = ocfl_io_write_file_durable(fd, "0=ocfl_1.1", "ocfl_1.1\n", 9, err);
out:
    if (fd >= 0 && r < 0) {
        /* The directory was empty: all of it is ours.  Take it back so that a
         * later init (after space is freed) finds it empty again. */
        ocfl_io_unlink(fd, "0=ocfl_1.1", NULL);
        ocfl_io_remove_tree(fd, "extensions", NULL);
        ocfl_io_unlink(fd, "ocfl_layout.json", NULL);
        ocfl_err_prefix(err, "cannot initialize '%s'", path);
    }
    if (fd >= 0)
        close(fd);
    free(config);
    ocfl_layout_free(layout);
    return r < 0 ? r : 0;
}

void ocfl_root_close(struct ocfl_root *root)
{
    if (!root)
        return;
    if (root->fd >= 0)
        close(root->fd);
    free(root->path);
    ocfl_layout_free(root->layout);
    free(root->layout_name);
    free(root->digest_algorithm);
    free(root);
}

/* Whether @name exists beneath @fd as a regular file. */
static int has_file(int fd, const char *name)
{
    struct stat st;
    int f = ocfl_io_open(fd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);

    if (f < 0)
        return 0;
    int ok = fstat(f, &st) == 0 && S_ISREG(st.st_mode);
    close(f);
    return ok;
}

/*
 * Read ocfl_layout.json and the layout's config.  An absent, unreadable or
 * unknown layout leaves root->layout NULL (objects are then found by walking).
 */
static int read_layout(struct ocfl_root *root, struct ocfl_err *err)
{
    char *buf = NULL, *config = NULL, cpath[PATH_MAX];
    size_t len = 0;
    json_t *doc, *ext;
    int r, oom = 0;

    r = ocfl_io_read_file(root->fd, "ocfl_layout.json", CONFIG_MAX, &buf, &len, NULL);
    if (r == -ENOMEM)
        return ocfl_err_set(err, r, "out of memory");
    if (r < 0)
        return 0;
    doc = ocfl_json_loadb(buf, len, 0, NULL, &oom);
    free(buf);
    if (oom)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    ext = json_object_get(doc, "extension");
    if (json_is_string(ext) && !(root->layout_name = strdup(json_string_value(ext)))) {
        json_decref(doc);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    json_decref(doc);
    if (!root->layout_name || strchr(root->layout_name, '/') ||
        ocfl_io_check_path(root->layout_name) < 0)
        return 0;
    r = snprintf(cpath, sizeof(cpath), "extensions/%s/config.json", root->layout_name);
    if (r < 0 || (size_t)r >= sizeof(cpath))
        return 0;
    r = ocfl_io_read_file(root->fd, cpath, CONFIG_MAX, &config, NULL, NULL);
    if (r == -ENOMEM)
        return ocfl_err_set(err, r, "out of memory");
    if (r < 0 && r != -ENOENT)
        return 0; /* unreadable config: no usable layout */
    r = ocfl_layout_new(root->layout_name, config, &root->layout, NULL);
    free(config);
    if (r == -ENOMEM)
        return ocfl_err_set(err, r, "out of memory");
    return 0;
}

static int read_digest(struct ocfl_root *root, struct ocfl_err *err)
{
    const char *name = "sha512";
    char *buf = NULL;
    size_t len = 0;
    json_t *doc = NULL, *v;
    int r, oom = 0;

    r = ocfl_io_read_file(root->fd, "extensions/ocflfs/config.json", CONFIG_MAX, &buf, &len, NULL);
    if (r == -ENOMEM)
        return ocfl_err_set(err, r, "out of memory");
    if (r == 0) {
        doc = ocfl_json_loadb(buf, len, 0, NULL, &oom);
        free(buf);
        if (oom)
            return ocfl_err_set(err, -ENOMEM, "out of memory");
        v = json_object_get(doc, "digestAlgorithm");
        if (!json_is_string(v) ||
            !ocfl_digest_alg_is_content(ocfl_digest_alg_from_name(json_string_value(v)))) {
            json_decref(doc);
            return ocfl_err_set(err, -EINVAL,
                                "'%s/extensions/ocflfs/config.json': digestAlgorithm must be "
                                "\"sha512\" or \"sha256\"",
                                root->path);
        }
        name = json_string_value(v);
    }
    root->digest_algorithm = strdup(name);
    json_decref(doc);
    return root->digest_algorithm ? 0 : ocfl_err_set(err, -ENOMEM, "out of memory");
}

int ocfl_root_open(const char *path, struct ocfl_root **ret, struct ocfl_err *err)
{
    struct ocfl_root *root = calloc(1, sizeof(*root));
    int r;

    if (!root)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    root->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root->fd < 0) {
        r = ocfl_err_sys(err, -errno, "cannot open '%s'", path);
        goto fail;
    }
    if (!(root->path = strdup(path))) {
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (has_file(root->fd, "0=ocfl_1.1"))
        root->spec = OCFL_SPEC_1_1;
    else if (has_file(root->fd, "0=ocfl_1.0"))
        root->spec = OCFL_SPEC_1_0;
    else {
        r = ocfl_err_set(err, -EMEDIUMTYPE, "'%s': not an OCFL storage root", path);
        goto fail;
    }
    if ((r = read_layout(root, err)) < 0 || (r = read_digest(root, err)) < 0)
        goto fail;
    *ret = root;
    return 0;
fail:
    ocfl_root_close(root);
    return r;
}

int ocfl_root_object_path(const struct ocfl_root *root, const char *id, char **ret,
                          struct ocfl_err *err)
{
    if (!root->layout)
        return ocfl_err_set(err, -ENOTSUP, "'%s': no usable storage layout (%s)", root->path,
                            root->layout_name ? root->layout_name : "no ocfl_layout.json");
    return ocfl_layout_map(root->layout, id, ret, err);
}

/*
 * 1 when the object at @path (beneath the root) declares itself an object
 * and its inventory's id is @id; 2 when it declares itself an object but
 * its inventory cannot be read or has no string id (a damaged object: whose
 * it is cannot be told); 0 otherwise; -ENOMEM.  The inventory is read only
 * for its id: a full parse is the object's business.
 */
static int object_has_id(int rootfd, const char *path, const char *id)
{
    char ipath[PATH_MAX], *buf = NULL;
    size_t len;
    json_t *doc, *v;
    int r, oom = 0;

    r = snprintf(ipath, sizeof(ipath), "%s/0=ocfl_object_1.1", path);
    if (r < 0 || (size_t)r >= sizeof(ipath))
        return 0;
    if (!has_file(rootfd, ipath)) {
        ipath[r - 1] = '0';
        if (!has_file(rootfd, ipath))
            return 0;
    }
    snprintf(ipath, sizeof(ipath), "%s/inventory.json", path);
    r = ocfl_io_read_file(rootfd, ipath, OCFL_INVENTORY_MAX_BYTES, &buf, &len, NULL);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return 2;
    doc = ocfl_json_loadb(buf, len, 0, NULL, &oom);
    free(buf);
    if (oom)
        return -ENOMEM;
    v = json_object_get(doc, "id");
    r = !json_is_string(v) ? 2 : !strcmp(json_string_value(v), id);
    json_decref(doc);
    return r;
}

struct find {
    int rootfd;
    const char *id, *skip;
    char *found;
};

static int find_one(void *ctx, const char *object_path)
{
    struct find *f = ctx;
    int r;

    if (f->skip && !strcmp(f->skip, object_path))
        return 0; /* the layout's answer, already checked */
    r = object_has_id(f->rootfd, object_path, f->id);
    if (r <= 0 || r == 2)
        return r < 0 ? r : 0;
    f->found = strdup(object_path);
    return f->found ? 1 : -ENOMEM;
}

int ocfl_root_find_object(struct ocfl_root *root, const char *id, char **ret, struct ocfl_err *err)
{
    struct find f = {.rootfd = root->fd, .id = id};
    char *mapped = NULL;
    int r;

    if (root->layout && ocfl_layout_map(root->layout, id, &mapped, NULL) == 0) {
        struct stat st;
        r = object_has_id(root->fd, mapped, id);
        if (r < 0) {
            free(mapped);
            return ocfl_err_set(err, r, "out of memory");
        }
        /* A damaged object where the layout puts @id is taken as @id's: opening
         * it then reports the damage, and nothing creates a new object there. */
        if (r == 1 || r == 2) {
            *ret = mapped;
            return 0;
        }
        /* The layout decides: nothing there is no such object (so that a new object costs
         * the same in a root of a million objects as in an empty one); the walk only when
         * asked, for roots whose objects are not where their layout puts them. */
        if (!root->find_misplaced) {
            r = fstatat(root->fd, mapped, &st, AT_SYMLINK_NOFOLLOW) == 0
                    ? ocfl_err_set(err, -EEXIST,
                                   "'%s', where the layout puts '%s', holds something else", mapped,
                                   id)
                    : ocfl_err_set(err, -ENOENT, "no object with id '%s' in '%s'", id, root->path);
            free(mapped);
            return r;
        }
    }
    f.skip = mapped;
    r = ocfl_root_walk(root, find_one, &f, err);
    free(mapped);
    if (r < 0)
        return r == -ENOMEM ? ocfl_err_set(err, r, "out of memory") : r;
    if (!f.found)
        return ocfl_err_set(err, -ENOENT, "no object with id '%s' in '%s'", id, root->path);
    *ret = f.found;
    return 0;
}
