/* object.c: open an OCFL object for reading: declaration, sidecar-checked inventory, content. */
#include "object.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "path.h"

/* A sidecar is one digest, spaces and a file name: small. */
#define SIDECAR_MAX 4096

void ocfl_object_close(struct ocfl_object *obj)
{
    if (!obj)
        return;
    if (obj->fd >= 0)
        close(obj->fd);
    free(obj->path);
    ocfl_inventory_free(obj->inv);
    free(obj);
}

int ocfl_object_read_sidecar(int objfd, const char *dir, const char *alg,
                             char hex[OCFL_DIGEST_HEX_MAX], struct ocfl_err *err)
{
    char path[PATH_MAX], *buf = NULL, *p;
    size_t len, n, want;
    int r;

    r = snprintf(path, sizeof(path), "%s%sinventory.json.%s", dir && *dir ? dir : "",
                 dir && *dir ? "/" : "", alg);
    if (r < 0 || (size_t)r >= sizeof(path))
        return ocfl_err_set(err, -ENAMETOOLONG, "sidecar path too long in '%s'", dir);
    r = ocfl_io_read_file(objfd, path, SIDECAR_MAX, &buf, &len, err);
    if (r == -EFBIG)
        return ocfl_err_set(err, -EBADMSG, "'%s': not a sidecar (too large)", path);
    if (r < 0)
        return r;
    /* "HEX<spaces or tabs>inventory.json", an optional final newline */
    for (n = 0; n < len && ocfl_hex_value((unsigned char)buf[n]) >= 0; n++)
        ;
    p = buf + n;
    want = ocfl_digest_hex_len(ocfl_digest_alg_from_name(alg));
    if (n == 0 || n >= OCFL_DIGEST_HEX_MAX || (want && n != want) || (*p != ' ' && *p != '\t')) {
        r = ocfl_err_set(err, -EBADMSG, "'%s': not a %s digest followed by 'inventory.json'", path,
                         alg);
        goto out;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "inventory.json", 14) || (p[14] && strcmp(p + 14, "\n"))) {
        r = ocfl_err_set(err, -EBADMSG, "'%s': must name 'inventory.json' after the digest", path);
        goto out;
    }
    if (memchr(buf, '\0', len)) {
        r = ocfl_err_set(err, -EBADMSG, "'%s': contains a NUL byte", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        hex[i] = (char)(buf[i] >= 'A' && buf[i] <= 'F' ? buf[i] - 'A' + 'a' : buf[i]);
    hex[n] = '\0';
    r = 0;
out:
    free(buf);
    return r;
}

/* The declaration "0=ocfl_object_1.x" with its exact content; -ENOENT when absent. */
static int check_declaration(int fd, const char *path, struct ocfl_err *err)
{
    static const char *const decl[][2] = {
        {"0=ocfl_object_1.1", "ocfl_object_1.1\n"},
        {"0=ocfl_object_1.0", "ocfl_object_1.0\n"},
    };
    for (size_t i = 0; i < 2; i++) {
        char *buf = NULL;
        size_t len;
        int r = ocfl_io_read_file(fd, decl[i][0], 64, &buf, &len, err);
        if (r == -ENOENT)
            continue;
        if (r < 0 && r != -EFBIG)
            return r;
        r = buf && len == strlen(decl[i][1]) && !memcmp(buf, decl[i][1], len);
        free(buf);
        if (!r)
            return ocfl_err_set(err, -EBADMSG, "'%s/%s': content is not '%.15s'", path, decl[i][0],
                                decl[i][1]);
        return 0;
    }
    return ocfl_err_set(err, -ENOENT, "no OCFL object at '%s'", path);
}

/* The digest of an inventory's bytes, computed on another core while they are parsed. */
struct inv_digest {
    const char *buf;
    size_t len;
    enum ocfl_digest_alg alg;
    char hex[OCFL_DIGEST_HEX_MAX];
    int r;
};

static void *digest_run(void *arg)
{
    struct inv_digest *d = arg;
    struct ocfl_hasher *h = NULL;

    d->r = ocfl_hasher_new(1u << d->alg, &h, NULL);
    if (d->r == 0) {
        ocfl_hasher_update(h, d->buf, d->len);
        d->r = ocfl_hasher_final(h, d->alg, d->hex);
    }
    ocfl_hasher_free(h);
    return NULL;
}

/* Inventories from this size on are hashed in a thread of their own while they are parsed. */
#define PARALLEL_DIGEST_BYTES (4u << 20)

int ocfl_object_open(int dirfd, const char *path, struct ocfl_object **ret, struct ocfl_err *err)
{
    static const char *const algs[] = {"sha512", "sha256"};
    struct ocfl_object *obj = calloc(1, sizeof(*obj));
    char sidecar[OCFL_DIGEST_HEX_MAX], *actual, *buf = NULL;
    const char *alg = NULL;
    struct inv_digest d = {0};
    struct ocfl_err perr = {0};
    pthread_t th;
    int r, threaded = 0, parsed;
    size_t len;

    if (!obj)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    obj->fd = ocfl_io_open(dirfd, path, O_RDONLY | O_DIRECTORY, 0);
    if (obj->fd < 0) {
        r = ocfl_err_sys(err, obj->fd, "cannot open object '%s'", path);
        goto fail;
    }
    if (!(obj->path = strdup(path))) {
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if ((r = check_declaration(obj->fd, path, err)) < 0)
        goto fail;
    /* stat'ed before the read: if it changes later, the inode or ctime will tell */
    if (fstatat(obj->fd, "inventory.json", &obj->inventory_st, AT_SYMLINK_NOFOLLOW) < 0)
        memset(&obj->inventory_st, 0, sizeof(obj->inventory_st));
    r = ocfl_io_read_file(obj->fd, "inventory.json", OCFL_INVENTORY_MAX_BYTES, &buf, &len, err);
    if (r < 0) {
        if (r == -ENOENT || r == -EFBIG || r == -EINVAL)
            r = -EBADMSG;
        ocfl_err_prefix(err, "object '%s'", path);
        if (err)
            err->code = r;
        goto fail;
    }
    /* the sidecar first: a damaged inventory is reported as damaged, not as invalid */
    for (size_t i = 0; i < 2 && !alg; i++) {
        r = ocfl_object_read_sidecar(obj->fd, "", algs[i], sidecar, err);
        if (r == 0)
            alg = algs[i];
        else if (r != -ENOENT)
            goto prefixed;
    }
    if (!alg) {
        r = ocfl_err_set(err, -EBADMSG, "object '%s': no inventory.json.sha512 or .sha256", path);
        goto fail;
    }
    d.buf = buf;
    d.len = len;
    d.alg = ocfl_digest_alg_from_name(alg);
    actual = d.hex;
    if (len >= PARALLEL_DIGEST_BYTES)
        threaded = pthread_create(&th, NULL, digest_run, &d) == 0;
    if (!threaded)
        digest_run(&d);
    parsed = ocfl_inventory_parse(buf, len, &obj->inv, &perr);
    if (threaded)
        pthread_join(th, NULL);
    /* the digest first: a damaged inventory is damaged, whatever its parse said */
    if (d.r < 0) {
        r = ocfl_err_set(err, d.r, "cannot digest '%s/inventory.json'", path);
        goto fail;
    }
    if (!ocfl_digest_equal(actual, sidecar)) {
        r = ocfl_err_set(err, -EBADMSG,
                         "'%s/inventory.json': %s digest %s does not match its sidecar (%s)", path,
                         alg, actual, sidecar);
        goto fail;
    }
    if ((r = parsed) < 0) {
        if (err)
            *err = perr;
        goto prefixed;
    }
    if (strcmp(obj->inv->digest_algorithm, alg)) {
        r = ocfl_err_set(err, -EBADMSG,
                         "'%s/inventory.json': digestAlgorithm is %s but the sidecar is .%s", path,
                         obj->inv->digest_algorithm, alg);
        goto fail;
    }
    for (char *p = actual; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    memcpy(obj->inventory_digest, d.hex, sizeof(d.hex));
    free(buf);
    *ret = obj;
    return 0;
prefixed:
    ocfl_err_prefix(err, "object '%s'", path);
fail:
    free(buf);
    ocfl_object_close(obj);
    return r;
}

int ocfl_object_resolve(const struct ocfl_object *obj, unsigned num, const char *logical_path,
                        const char **ret_digest, const char **ret_content_path,
                        struct ocfl_err *err)
{
    const struct ocfl_version *v;
    const struct ocfl_state_entry *e;
    const char *content;

    v = num ? ocfl_inventory_version(obj->inv, num) : ocfl_inventory_head(obj->inv);
    if (!v)
        return ocfl_err_set(err, -ENOENT, "object '%s' has no version %u", obj->inv->id, num);
    e = ocfl_version_lookup(v, logical_path);
    if (!e)
        return ocfl_err_set(err, -ENOENT, "object '%s' v%u has no file '%s'", obj->inv->id, v->num,
                            logical_path);
    content = ocfl_inventory_content_path(obj->inv, e->digest);
    if (!content)
        return ocfl_err_set(err, -EBADMSG, "object '%s': digest %s of '%s' is not in the manifest",
                            obj->inv->id, e->digest, logical_path);
    if (ret_digest)
        *ret_digest = e->digest;
    if (ret_content_path)
        *ret_content_path = content;
    return 0;
}

int ocfl_object_open_content(const struct ocfl_object *obj, const char *content_path,
                             struct ocfl_err *err)
{
    struct stat st;
    int fd, r;

    /* "..", absolute and empty elements are refused before the disk is touched */
    if ((r = ocfl_io_check_path(content_path)) < 0)
        return ocfl_err_sys(err, r, "object '%s': refusing content path '%s'", obj->path,
                            content_path);
    fd = ocfl_io_open(obj->fd, content_path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot open '%s/%s'", obj->path, content_path);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ocfl_err_set(err, -EBADMSG, "'%s/%s' is not a regular file", obj->path,
                            content_path);
    }
    /* reads of a regular file never block; clear O_NONBLOCK all the same */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}
