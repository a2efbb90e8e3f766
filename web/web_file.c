/* web_file.c: one file of a version: its page (text inline) and its bytes (/raw), verified. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "io.h"
#include "object.h"
#include "web_int.h"
#include "web_url.h"

/* Media types by the name's ending; anything else is octet-stream, or plain text. */
static const char *type_of(const char *path, int text)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".txt", "text/plain; charset=utf-8"},
        {".csv", "text/csv; charset=utf-8"},
        {".md", "text/markdown; charset=utf-8"},
        {".json", "application/json"},
        {".xml", "application/xml"},
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".pdf", "application/pdf"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".svg", "image/svg+xml"},
        {".tif", "image/tiff"},
        {".tiff", "image/tiff"},
        {".zip", "application/zip"},
        {".gz", "application/gzip"},
        {".tar", "application/x-tar"},
        {".mp3", "audio/mpeg"},
        {".mp4", "video/mp4"},
        {".wav", "audio/wav"},
    };
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (!strcasecmp(dot, types[i].ext))
                return types[i].type;
    return text ? "text/plain; charset=utf-8" : "application/octet-stream";
}

int web_looks_text(const char *buf, size_t len)
{
    return !memchr(buf, 0, len) && web_utf8_valid(buf, len);
}

int web_read_content(const struct ocfl_object *obj, const char *digest, size_t max, char **ret,
                     size_t *ret_len, struct ocfl_err *err)
{
    const char *cp = ocfl_inventory_content_path(obj->inv, digest);
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(obj->inv->digest_algorithm);
    char hex[OCFL_DIGEST_HEX_MAX], *buf = NULL;
    struct stat st;
    size_t n = 0;
    int fd, r;

    if (!cp)
        return ocfl_err_set(err, -EIO, "object '%s': digest '%s' has no content", obj->inv->id,
                            digest);
    if ((fd = ocfl_object_open_content(obj, cp, err)) < 0)
        return fd;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return ocfl_err_set(err, -EFBIG, "'%s' is larger than %zu bytes", cp, max);
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        close(fd);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    while (n < (size_t)st.st_size) {
        ssize_t k = pread(fd, buf + n, (size_t)st.st_size - n, (off_t)n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = 0;
    r = ocfl_digest_buffer(alg, buf, n, hex, err);
    if (r >= 0 && !ocfl_digest_equal(hex, digest))
        r = ocfl_err_set(err, -EIO, "'%s' does not match its digest (the object is damaged)", cp);
    if (r < 0) {
        free(buf);
        return r;
    }
    *ret = buf;
    *ret_len = n;
    return 0;
}

/* The file named by the arguments id, v and path: the object, the version, the entry. */
static int pick(struct web *w, const struct web_req *q, struct ocfl_object **obj, unsigned *num,
                char **path, const char **digest, struct ocfl_err *err)
{
    const char *cp;
    int r = web_open_object(w, q, obj, NULL, err);

    if (r >= 0)
        r = web_version_arg(q, "v", *obj, 0, num, err);
    if (r >= 0 && (r = web_arg(q, "path", path, err)) == -ENOENT)
        r = ocfl_err_set(err, -EINVAL, "which file? (argument 'path')");
    /* only a logical path of the version's state is served: nothing is opened by its name */
    if (r >= 0)
        r = ocfl_object_resolve(*obj, *num, *path, digest, &cp, err);
    if (r < 0) {
        ocfl_object_close(*obj);
        *obj = NULL;
    }
    return r;
}

int web_model_file(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err)
{
    struct ocfl_object *obj = NULL;
    const char *digest;
    char *path = NULL, *buf = NULL, name[32];
    size_t len = 0;
    unsigned num;
    struct stat st;
    int r = pick(w, q, &obj, &num, &path, &digest, err), text = 0;
    json_t *doc;

    if (r < 0) {
        free(path);
        return r;
    }
    const char *cp = ocfl_inventory_content_path(obj->inv, digest);
    long long size = cp && ocfl_io_stat(obj->fd, cp, &st) == 0 ? (long long)st.st_size : -1;
    struct ocfl_err rerr = {0};
    if (size >= 0 && size <= WEB_INLINE_MAX &&
        web_read_content(obj, digest, WEB_INLINE_MAX, &buf, &len, &rerr) == 0)
        text = web_looks_text(buf, len);
    ocfl_inventory_version_name(obj->inv, num, name, sizeof(name));
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b}", "id", obj->inv->id, "version", name,
                    "path", path, "digest", digest, "digest_algorithm", obj->inv->digest_algorithm,
                    "size", (json_int_t)size, "type", type_of(path, text), "text", text);
    if (doc && text)
        json_object_set_new(doc, "content", json_stringn(buf, len));
    if (doc && rerr.msg[0])
        json_object_set_new(doc, "error", json_string(rerr.msg));
    free(buf);
    free(path);
    ocfl_object_close(obj);
    if (!doc)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    *ret = doc;
    return 0;
}

void web_render_file(struct web *w, const struct web_req *q, json_t *doc, FILE *f)
{
    const char *id = web_jstr(doc, "id"), *ver = web_jstr(doc, "version"),
               *path = web_jstr(doc, "path");

    (void)w, (void)q;
    web_html_begin(f, path, "objects");
    fputs("<h1><span id=\"file-path\">", f);
    web_esc(f, path);
    fputs("</span></h1>\n<p>In <a href=\"/object?id=", f);
    web_qenc(f, id);
    fputs("&amp;v=", f);
    web_qenc(f, ver);
    fputs("\">", f);
    web_esc(f, id);
    fputs(" ", f);
    web_esc(f, ver);
    fputs("</a>. <a id=\"download\" href=\"/raw?id=", f);
    web_qenc(f, id);
    fputs("&amp;v=", f);
    web_qenc(f, ver);
    fputs("&amp;path=", f);
    web_qenc(f, path);
    fputs("\">download</a> <a class=\"history\" href=\"/log?id=", f);
    web_qenc(f, id);
    fputs("&amp;path=", f);
    web_qenc(f, path);
    fputs("\">history</a></p>\n<table><tr><th>size</th><td id=\"file-size\">", f);
    web_bytes(f, web_jint(doc, "size"));
    fputs("</td></tr><tr><th>type</th><td>", f);
    web_esc(f, web_jstr(doc, "type"));
    fputs("</td></tr><tr><th>", f);
    web_esc(f, web_jstr(doc, "digest_algorithm"));
    fputs("</th><td class=\"digest\" id=\"file-digest\">", f);
    web_esc(f, web_jstr(doc, "digest"));
    fputs("</td></tr></table>\n", f);
    if (*web_jstr(doc, "error")) {
        fputs("<p class=\"error\">", f);
        web_esc(f, web_jstr(doc, "error"));
        fputs("</p>\n", f);
    }
    if (json_is_true(json_object_get(doc, "text"))) {
        fputs("<pre class=\"text\" id=\"content\">", f);
        web_esc(f, web_jstr(doc, "content"));
        fputs("</pre>\n", f);
    } else {
        fputs("<p>Not shown here (not text, or larger than 1 MiB): download it.</p>\n", f);
    }
    web_html_end(f);
}

/* /raw: the committed bytes, read from the object's content path and hashed on the way; the
 * last piece is held back until the digest matched, so a damaged file is cut off short of its
 * length and no client takes it for whole. */
struct raw {
    int fd;
    struct ocfl_hasher *h;
    enum ocfl_digest_alg alg;
    char *digest;
    uint64_t size;
};

static ssize_t raw_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct raw *s = ctx;
    char hex[OCFL_DIGEST_HEX_MAX];
    ssize_t n;

    if (pos >= s->size)
        return 0;
    if (max > s->size - pos)
        max = (size_t)(s->size - pos);
    do
        n = pread(s->fd, buf, max, (off_t)pos);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1; /* shorter than it was, or unreadable */
    ocfl_hasher_update(s->h, buf, (size_t)n);
    if (pos + (uint64_t)n == s->size &&
        (ocfl_hasher_final(s->h, s->alg, hex) < 0 || !ocfl_digest_equal(hex, s->digest)))
        return -1;
    return n;
}

static void raw_free(void *ctx)
{
    struct raw *s = ctx;

    close(s->fd);
    ocfl_hasher_free(s->h);
    free(s->digest);
    free(s);
}

int web_raw(struct web *w, const struct web_req *q, struct web_resp *r, struct ocfl_err *err)
{
    struct ocfl_object *obj = NULL;
    const char *digest, *cp, *base;
    char *path = NULL;
    unsigned num;
    struct stat st;
    struct raw *s = NULL;
    int rc = pick(w, q, &obj, &num, &path, &digest, err), fd = -1;
    char head[512];
    ssize_t k;

    if (rc < 0)
        goto out;
    cp = ocfl_inventory_content_path(obj->inv, digest);
    if ((fd = rc = ocfl_object_open_content(obj, cp, err)) < 0 ||
        (fstat(fd, &st) < 0 && (rc = ocfl_err_sys(err, -errno, "cannot stat '%s'", cp)) < 0))
        goto out;
    if (!(s = calloc(1, sizeof(*s))) || !(s->digest = strdup(digest))) {
        rc = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    s->alg = ocfl_digest_alg_from_name(obj->inv->digest_algorithm);
    if (st.st_size == 0) { /* no bytes to hold back: checked before anything is sent */
        char hex[OCFL_DIGEST_HEX_MAX];
        if ((rc = ocfl_digest_buffer(s->alg, "", 0, hex, err)) < 0)
            goto out;
        if (!ocfl_digest_equal(hex, digest)) {
            rc = ocfl_err_set(err, -EIO, "'%s' does not match its digest (the object is damaged)",
                              cp);
            goto out;
        }
    }
    if ((rc = ocfl_hasher_new(1u << s->alg, &s->h, err)) < 0)
        goto out;
    k = pread(fd, head, sizeof(head), 0);
    r->type = type_of(path, k >= 0 && web_looks_text(head, (size_t)k));
    base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    /* the name as RFC 6266 has it: an ASCII fallback and the UTF-8 name percent-encoded */
    {
        char *disp = NULL;
        size_t dlen = 0;
        FILE *f = open_memstream(&disp, &dlen);
        if (!f) {
            rc = ocfl_err_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        fputs("attachment; filename=\"", f);
        for (const char *c = base; *c; c++)
            fputc((unsigned char)*c < 0x80 && *c != '"' && *c != '\\' && *c >= 0x20 ? *c : '_', f);
        fputs("\"; filename*=UTF-8''", f);
        web_qenc(f, base);
        fclose(f);
        r->disposition = disp;
    }
    r->sandbox = 1;
    r->size = st.st_size;
    s->size = (uint64_t)st.st_size;
    s->fd = fd;
    fd = -1;
    r->read = raw_read;
    r->free_ctx = raw_free;
    r->ctx = s;
    s = NULL;
    rc = 0;
out:
    if (s) {
        ocfl_hasher_free(s->h);
        free(s->digest);
        free(s);
    }
    if (fd >= 0)
        close(fd);
    free(path);
    ocfl_object_close(obj);
    return rc;
}
