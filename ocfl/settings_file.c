/* settings_file.c: configuration files: INI text read into settings, one key set in a file. */
#include "settings.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

#define MAX_FILE (1u << 20)
#define MAX_LINE 8192
#define MAX_KEY  128

/* One line of a file as parsed: a section header, a key's value, or nothing. */
struct line {
    unsigned no;
    size_t start, end; /* byte offsets of the line, its newline excluded */
    char section[MAX_KEY];
    char key[2 * MAX_KEY]; /* "section.key" of a value line, "" for others */
    char *value;           /* malloc()ed, a value line's */
};

/* Read all of @fd (at most MAX_FILE bytes, no NUL) into a malloc()ed string. */
static int read_all(int fd, const char *path, char **ret, size_t *ret_len, struct ocfl_err *err)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap + 1);

    if (!buf)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    for (;;) {
        ssize_t n;
        if (len == MAX_FILE) {
            /* exactly MAX_FILE bytes is allowed: only a byte more is too much */
            char probe;
            while ((n = read(fd, &probe, 1)) < 0 && errno == EINTR)
                ;
            if (!n)
                break;
            free(buf);
            return n < 0 ? ocfl_err_sys(err, -errno, "cannot read '%s'", path)
                         : ocfl_err_set(err, -EFBIG, "'%s': larger than %u bytes", path, MAX_FILE);
        }
        if (len == cap) {
            char *nb = cap < MAX_FILE ? realloc(buf, 2 * cap + 1) : NULL;
            if (!nb) {
                free(buf);
                return cap < MAX_FILE ? ocfl_err_set(err, -ENOMEM, "out of memory")
                                      : ocfl_err_set(err, -EFBIG, "'%s': larger than %u bytes",
                                                     path, MAX_FILE);
            }
            buf = nb;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int r = ocfl_err_sys(err, -errno, "cannot read '%s'", path);
            free(buf);
            return r;
        }
        if (!n)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    if (strlen(buf) != len) {
        free(buf);
        return ocfl_err_set(err, -EINVAL, "'%s': a NUL byte", path);
    }
    *ret = buf;
    if (ret_len)
        *ret_len = len;
    return 0;
}

typedef int (*line_fn)(void *ctx, const struct line *l, struct ocfl_err *err);

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = 0;
    return s;
}

static int name_ok(const char *s, int dots)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              (dots && *s == '.')))
            return 0;
    return 1;
}

/* Call @fn for each line of @text; the first error stops (its message "NAME:LINE: ..."). */
static int parse(const char *text, const char *name, line_fn fn, void *ctx, struct ocfl_err *err)
{
    char buf[MAX_LINE + 1], section[MAX_KEY] = "";
    size_t pos = 0, len = strlen(text);
    unsigned no = 0;

    while (pos < len) {
        size_t n = strcspn(text + pos, "\n");
        struct line l = {.no = ++no, .start = pos, .end = pos + n};
        struct ocfl_err e = {0};
        char *s, *eq;
        int r;

        if (n > MAX_LINE)
            return ocfl_err_set(err, -EINVAL, "%s:%u: a line longer than %d bytes", name, no,
                                MAX_LINE);
        memcpy(buf, text + pos, n);
        buf[n] = 0;
        pos += n + (pos + n < len);
        s = trim(buf);
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || *trim(end + 1))
                return ocfl_err_set(err, -EINVAL, "%s:%u: a section header wants ']'", name, no);
            *end = 0;
            s = trim(s + 1);
            if (!name_ok(s, 1) || strlen(s) >= sizeof(section))
                return ocfl_err_set(err, -EINVAL, "%s:%u: '%s' is no section name", name, no, s);
            snprintf(section, sizeof(section), "%s", s);
        } else if (*s && *s != '#' && *s != ';') {
            char *key, *value;
            if (!(eq = strchr(s, '=')))
                return ocfl_err_set(err, -EINVAL, "%s:%u: 'key = value' wanted", name, no);
            *eq = 0;
            key = trim(s);
            value = trim(eq + 1);
            if (!section[0])
                return ocfl_err_set(err, -EINVAL, "%s:%u: key '%s' before any [section]", name, no,
                                    key);
            if (!name_ok(key, 0) || strlen(key) >= MAX_KEY)
                return ocfl_err_set(err, -EINVAL, "%s:%u: '%s' is no key name", name, no, key);
            size_t vl = strlen(value);
            if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
                value[vl - 1] = 0;
                value++;
            }
            snprintf(l.key, sizeof(l.key), "%s.%s", section, key);
            if (!(l.value = strdup(value)))
                return ocfl_err_set(err, -ENOMEM, "%s: out of memory", name);
        }
        snprintf(l.section, sizeof(l.section), "%s", section);
        r = fn(ctx, &l, &e);
        free(l.value);
        if (r < 0)
            return ocfl_err_set(err, r, "%s:%u: %s", name, no, e.msg);
    }
    return 0;
}

static int check_line(void *ctx, const struct line *l, struct ocfl_err *err)
{
    const enum ocfl_settings_source *src = ctx;

    int r = l->key[0] ? ocfl_settings_check(l->key, l->value, *src, err) : 0;
    return r == -ENOENT ? -EINVAL : r; /* an unknown key is a bad line */
}

struct load {
    struct ocfl_settings *s;
    enum ocfl_settings_source src;
    const char *name;
};

static int set_line(void *ctx, const struct line *l, struct ocfl_err *err)
{
    struct load *ld = ctx;
    char where[4200];

    if (!l->key[0])
        return 0;
    snprintf(where, sizeof(where), "%s:%u", ld->name, l->no);
    /* checked before: only memory can fail now (its message without the place) */
    int r = ocfl_settings_set(ld->s, l->key, l->value, ld->src, where, NULL);
    return r < 0 ? ocfl_err_set(err, r, "out of memory") : 0;
}

int ocfl_settings_load_text(struct ocfl_settings *s, const char *text, const char *name,
                            enum ocfl_settings_source src, struct ocfl_err *err)
{
    struct load ld = {s, src, name};
    int r;

    /* every line checked first, so that a bad file leaves nothing behind */
    r = parse(text, name, check_line, &src, err);
    return r < 0 ? r : parse(text, name, set_line, &ld, err);
}

int ocfl_settings_load_file(struct ocfl_settings *s, const char *path,
                            enum ocfl_settings_source src, uid_t owner, struct ocfl_err *err)
{
    struct stat st;
    char *text = NULL;
    int r;

    /* a file whose owner is checked is that file itself, not what a link points at; a FIFO
     * or a device is not waited for (O_NONBLOCK), but refused once it is seen for one */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                            (owner != (uid_t)-1 ? O_NOFOLLOW : 0));
    if (fd < 0 && errno == ELOOP)
        return ocfl_err_set(err, -EPERM, "'%s' is a symbolic link: not read", path);
    if (fd < 0)
        return errno == ENOENT ? 0 : ocfl_err_sys(err, -errno, "cannot open '%s'", path);
    if (fstat(fd, &st) < 0) {
        r = ocfl_err_sys(err, -errno, "cannot stat '%s'", path);
        close(fd);
        return r;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ocfl_err_set(err, -EINVAL, "'%s' is not a regular file", path);
    }
    if (owner != (uid_t)-1 && st.st_uid != owner) {
        close(fd);
        return ocfl_err_set(err, -EPERM, "'%s' is not owned by uid %u: not read", path,
                            (unsigned)owner);
    }
    if (owner != (uid_t)-1 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
        close(fd);
        return ocfl_err_set(err, -EPERM, "'%s' is group- or world-writable: not read", path);
    }
    r = read_all(fd, path, &text, NULL, err);
    close(fd);
    if (r < 0)
        return r;
    r = ocfl_settings_load_text(s, text, path, src, err);
    free(text);
    return r;
}

/* What ocfl_settings_write needs to know of a file's lines. */
struct where {
    const char *key, *section;
    int have_key, have_section;
    size_t key_start, key_end; /* the key's last line */
    size_t section_end;        /* the end of the section's last non-blank line */
};

static int find_line(void *ctx, const struct line *l, struct ocfl_err *err)
{
    struct where *w = ctx;

    (void)err;
    if (strcmp(l->section, w->section))
        return 0;
    if (l->key[0] && !strcmp(l->key, w->key)) {
        w->have_key = 1;
        w->key_start = l->start;
        w->key_end = l->end;
    }
    if (l->end > l->start) {
        w->have_section = 1;
        w->section_end = l->end;
    }
    return 0;
}

/* The last value of a key, as a file's text gives it. */
struct readback {
    const char *key;
    char *value; /* malloc()ed */
};

static int read_back(void *ctx, const struct line *l, struct ocfl_err *err)
{
    struct readback *rb = ctx;

    if (!l->key[0] || strcmp(l->key, rb->key))
        return 0;
    free(rb->value);
    if (!(rb->value = strdup(l->value)))
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    return 0;
}

/* mkdir -p of @path's directory (an absolute or relative file system path), each new one
 * 0755 whatever the umask. */
static int make_parents(const char *path, struct ocfl_err *err)
{
    char *p = strdup(path);

    if (!p)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            int made = mkdir(p, 0700) == 0;
            if ((!made && errno != EEXIST) || (made && chmod(p, 0755) < 0)) {
                int r = ocfl_err_sys(err, -errno, "cannot create '%s'", p);
                free(p);
                return r;
            }
            *s = '/';
        }
    free(p);
    return 0;
}

/* Create a temporary file beside @name in @dfd, its name unique (O_EXCL, a random suffix)
 * into @tmp; the fd or a negative errno. */
static int create_temp(int dfd, const char *name, char *tmp, size_t size)
{
    for (int tries = 0; tries < 100; tries++) {
        unsigned char rnd[6] = {0};
        int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC), fd;
        if (rfd < 0 || read(rfd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
            if (rfd >= 0)
                close(rfd);
            return -EIO;
        }
        close(rfd);
        snprintf(tmp, size, ".%.200s.tmp-%02x%02x%02x%02x%02x%02x", name, rnd[0], rnd[1], rnd[2],
                 rnd[3], rnd[4], rnd[5]);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd >= 0 ? fd : -errno;
    }
    return -EEXIST;
}

/* Remove the temporary files of @name in @dfd that writers killed before their rename left
 * (called under the directory's lock: no live writer has one then). */
static void remove_stale_temps(int dfd, const char *name)
{
    char prefix[300];
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    snprintf(prefix, sizeof(prefix), ".%.200s.tmp-", name);
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, prefix, strlen(prefix)))
            unlinkat(dfd, de->d_name, 0);
    closedir(d);
}

/* Write @text as @name in @dfd durably: a unique temporary file of mode @mode (and, when
 * @uid is not -1, that owner), fsync, rename, fsync of the directory. */
static int publish(int dfd, const char *path, const char *name, const char *text, mode_t mode,
                   uid_t uid, gid_t gid, struct ocfl_err *err)
{
    char tmp[300];
    size_t len = strlen(text), off = 0;
    int fd = create_temp(dfd, name, tmp, sizeof(tmp)), r = 0;

    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot create a temporary file beside '%s'", path);
    if (fchmod(fd, mode) < 0 || (uid != (uid_t)-1 && fchown(fd, uid, gid) < 0))
        r = -errno;
    while (!r && off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = -errno;
        else
            off += (size_t)n;
    }
    if (!r && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && !r)
        r = -errno;
    if (!r && renameat(dfd, tmp, dfd, name) < 0)
        r = -errno;
    if (r < 0) {
        unlinkat(dfd, tmp, 0);
        return ocfl_err_sys(err, r, "cannot write '%s'", path);
    }
    if (fsync(dfd) < 0)
        return ocfl_err_sys(err, -errno, "cannot sync the directory of '%s'", path);
    return 0;
}

int ocfl_settings_write(const char *path, const char *key, const char *value,
                        enum ocfl_settings_source src, struct ocfl_err *err)
{
    struct ocfl_err e = {0};
    const char *dot = strrchr(key, '.');
    char section[MAX_KEY], *text = NULL, *out = NULL, *line = NULL, *dir = NULL, *real = NULL;
    const char *slash, *name;
    struct where w = {.key = key, .section = section};
    struct stat st;
    size_t len, n;
    int r, dfd = -1, fd = -1;

    r = ocfl_settings_check(key, value, src, &e);
    if (r < 0)
        return ocfl_err_set(err, r, "%s", e.msg);
    if (strchr(value, '\n') || (size_t)(dot - key) >= sizeof(section))
        return ocfl_err_set(err, -EINVAL, "'%s': a value of one line wanted", key);
    snprintf(section, sizeof(section), "%.*s", (int)(dot - key), key);
    /* a user file that is a symbolic link (a dotfile manager's) is written where it points */
    if (src == OCFL_SETTINGS_USER && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        if (!(real = realpath(path, NULL)))
            return ocfl_err_sys(err, -errno, "'%s': a symbolic link to nothing: not written", path);
        path = real;
    }
    slash = strrchr(path, '/');
    name = slash ? slash + 1 : path;
    r = make_parents(path, err);
    if (r < 0)
        goto out;
    dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    if (!dir) {
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    /* a root's state directory is its own, not what a link there points at */
    dfd = open(dir,
               O_RDONLY | O_DIRECTORY | O_CLOEXEC | (src == OCFL_SETTINGS_ROOT ? O_NOFOLLOW : 0));
    int open_errno = errno;
    if (dfd < 0 && (open_errno == ELOOP || open_errno == ENOTDIR) && lstat(dir, &st) == 0 &&
        S_ISLNK(st.st_mode)) {
        r = ocfl_err_set(err, -EPERM, "'%s' is a symbolic link: not written into", dir);
        goto out;
    }
    if (dfd < 0) {
        r = ocfl_err_sys(err, -open_errno, "cannot open '%s'", dir);
        goto out;
    }
    /* one writer of the directory's files at a time: a read-modify-write loses no update */
    while ((r = flock(dfd, LOCK_EX)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        r = ocfl_err_sys(err, -errno, "cannot lock '%s'", dir);
        goto out;
    }
    remove_stale_temps(dfd, name);
    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP) {
        r = ocfl_err_set(err, -EPERM, "'%s' is a symbolic link: not written", path);
        goto out;
    }
    if (fd < 0 && errno != ENOENT) {
        r = ocfl_err_sys(err, -errno, "cannot open '%s'", path);
        goto out;
    }
    if (fd >= 0 && fstat(fd, &st) < 0) {
        r = ocfl_err_sys(err, -errno, "cannot stat '%s'", path);
        goto out;
    }
    if (fd >= 0 && !S_ISREG(st.st_mode)) {
        r = ocfl_err_set(err, -EINVAL, "'%s' is not a regular file: not written", path);
        goto out;
    }
    if (fd < 0) {
        if (!(text = strdup(""))) {
            r = ocfl_err_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        len = 0;
    } else if ((r = read_all(fd, path, &text, &len, err)) < 0) {
        goto out;
    }
    /* the file must be good as it is, and stay good */
    r = parse(text, path, check_line, &src, err);
    if (r >= 0)
        r = parse(text, path, find_line, &w, err);
    if (r < 0)
        goto out;
    /* quoted when blanks at either end would otherwise be lost */
    size_t vl = strlen(value);
    int quote = vl && (strchr(" \t\r\"", value[0]) || strchr(" \t\r", value[vl - 1]));
    if (asprintf(&line, "%s = %s%s%s", dot + 1, quote ? "\"" : "", value, quote ? "\"" : "") < 0) {
        line = NULL;
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    n = len + strlen(line) + strlen(section) + 8;
    if (!(out = malloc(n))) {
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (w.have_key)
        snprintf(out, n, "%.*s%s%s", (int)w.key_start, text, line, text + w.key_end);
    else if (w.have_section)
        snprintf(out, n, "%.*s\n%s%s", (int)w.section_end, text, line, text + w.section_end);
    else
        snprintf(out, n, "%s%s[%s]\n%s\n", text, len && text[len - 1] != '\n' ? "\n" : "", section,
                 line);
    /* what is written must read back as @value, and the whole file parse */
    struct readback rb = {key, NULL};
    r = parse(out, path, read_back, &rb, err);
    if (r >= 0 && (!rb.value || strcmp(rb.value, value)))
        r = ocfl_err_set(err, -EINVAL, "'%s': a value that would not read back as given", key);
    free(rb.value);
    if (r < 0)
        goto out;
    /* an existing file keeps its mode (and, written by root, its owner); a new one is 0644
     * whatever the umask, so that the system file is every user's to read */
    if (fd >= 0)
        r = publish(dfd, path, name, out, st.st_mode & 07777,
                    geteuid() == 0 ? st.st_uid : (uid_t)-1, st.st_gid, err);
    else
        r = publish(dfd, path, name, out, 0644, (uid_t)-1, 0, err);
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd); /* the lock with it */
    free(dir);
    free(line);
    free(out);
    free(text);
    free(real);
    return r;
}
