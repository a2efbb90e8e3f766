/* test_settings.c: configuration files: syntax, checks with their place, precedence, trust. */
#include "check.h"
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_settings.XXXXXX";

static void put(const char *name, const char *text, mode_t mode)
{
    char p[256];
    int fd;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    unlink(p);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    chmod(p, mode);
}

static char *path(const char *name)
{
    static char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

static void test_defaults(void)
{
    struct ocfl_settings *s;
    enum ocfl_settings_source src;
    const char *where;

    CHECK_OK(ocfl_settings_new(&s));
    CHECK_STR(ocfl_settings_get(s, "retry.content.initial_interval", &src, &where), "100ms");
    CHECK_INT(src, OCFL_SETTINGS_DEFAULT);
    CHECK_STR(where, "default");
    CHECK_INT(ocfl_settings_ms(s, "retry.switch.initial_interval"), 100);
    CHECK_INT(ocfl_settings_ms(s, "retry.switch.maximum_interval"), 30000);
    CHECK(ocfl_settings_number(s, "retry.release.backoff_coefficient") == 2.0);
    CHECK_INT(ocfl_settings_count(s, "retry.inventory.maximum_attempts"), 5);
    CHECK_INT(ocfl_settings_count(s, "threads.content"), 0); /* auto */
    int codes[32];
    CHECK_INT(ocfl_settings_errnos(s, "retry.content.non_retryable", codes, 32), 9);
    CHECK_INT(codes[0], EINVAL);
    CHECK_INT(codes[6], ESTALE);
    CHECK_STR(ocfl_settings_get(s, "init.digest", NULL, NULL), "sha512");
    CHECK(ocfl_settings_get(s, "no.such", NULL, NULL) == NULL);
    /* every key's default passes its own check */
    for (size_t i = 0; i < ocfl_settings_n_keys(); i++)
        CHECK_OK(ocfl_settings_check(ocfl_settings_key(i), ocfl_settings_key_default(i),
                                     OCFL_SETTINGS_SYSTEM, NULL));
    ocfl_settings_free(s);
}

static void test_syntax_and_values(void)
{
    struct ocfl_settings *s;
    struct ocfl_err err = {0};
    const char *where;

    CHECK_OK(ocfl_settings_new(&s));
    CHECK_OK(ocfl_settings_load_text(s,
                                     "# a comment\n"
                                     "; another\n"
                                     "\n"
                                     "[retry.content]\n"
                                     "  initial_interval = 2s  \n"
                                     "maximum_attempts=7\n"
                                     "non_retryable = EIO, ENOSPC\n"
                                     "[user]\n"
                                     "name = \" A. Archivist \"\n"
                                     "[threads]\n"
                                     "hashing = 3\n"
                                     "hashing = 4\n",
                                     "t.conf", OCFL_SETTINGS_USER, &err));
    CHECK_INT(ocfl_settings_ms(s, "retry.content.initial_interval"), 2000);
    CHECK_INT(ocfl_settings_count(s, "retry.content.maximum_attempts"), 7);
    CHECK_STR(ocfl_settings_get(s, "user.name", NULL, NULL), " A. Archivist ");
    CHECK_INT(ocfl_settings_count(s, "threads.hashing"), 4); /* the last one wins */
    ocfl_settings_get(s, "threads.hashing", NULL, &where);
    CHECK_STR(where, "t.conf:12");
    int codes[32];
    CHECK_INT(ocfl_settings_errnos(s, "retry.content.non_retryable", codes, 32), 2);
    CHECK_INT(codes[1], ENOSPC);

    /* each bad value refused with its file, line and key, and nothing of the file kept */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[retry.content]\ninitial_interval = soon\n",
         "b.conf:2: 'retry.content.initial_interval': 'soon' is no duration"},
        {"[retry.switch]\nbackoff_coefficient = 0.5\n",
         "b.conf:2: 'retry.switch.backoff_coefficient': '0.5' is no number from 1 to 100"},
        {"[retry.release]\n\nmaximum_attempts = 0\n",
         "b.conf:3: 'retry.release.maximum_attempts': '0' is no count"},
        {"[retry.inventory]\nnon_retryable = EIO EWHAT\n",
         "b.conf:2: 'retry.inventory.non_retryable': 'EWHAT' is no errno name"},
        {"[threads]\ncontent = many\n", "b.conf:2: 'threads.content': 'many' is neither"},
        {"[threads]\ncontent = 0\n", "b.conf:2: 'threads.content': '0' is neither"},
        {"[user]\naddress = archivist\n", "b.conf:2: 'user.address': 'archivist' is no URI"},
        {"[init]\nlayout = 9999-mine\n", "b.conf:2: 'init.layout': '9999-mine' is no layout"},
        {"[init]\ndigest = md5\n", "b.conf:2: 'init.digest': 'md5' is neither"},
        {"[nosuch]\nkey = 1\n", "b.conf:2: 'nosuch.key': no such key"},
        {"[threads]\ncontnet = 2\n", "b.conf:2: 'threads.contnet': no such key"},
        {"threads.content = 2\n", "b.conf:1: key 'threads.content' before any [section]"},
        {"[threads\n", "b.conf:1: a section header wants ']'"},
        {"[threads]\njust words\n", "b.conf:2: 'key = value' wanted"},
        /* security-relevant keys: only the system file or the command line */
        {"[mount]\naddress_template = mailto:{login}@example.org\n",
         "b.conf:2: 'mount.address_template' is taken only from the system file"},
        {"[mount]\noptions = ctl=.c,allow_other\n",
         "b.conf:2: 'mount.options': option 'allow_other' is taken only from the system"},
        {"[mount]\noptions = commit_group=wheel\n", "option 'commit_group' is taken only"},
        {"[mount]\noptions = default_permissions\n", "option 'default_permissions' is taken"},
        {"[mount]\noptions = http=0.0.0.0:8080\n", "option 'http' is taken only"},
        /* FUSE would un-escape these into allow_other */
        {"[mount]\noptions = ctl=.c,allow\\_other\n",
         "b.conf:2: 'mount.options': option 'allow\\_other': a backslash is refused"},
        {"[mount]\noptions = \\141llow_other\n", "option '\\141llow_other': a backslash"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ocfl_settings *t;
        CHECK_OK(ocfl_settings_new(&t));
        ocfl_err_clear(&err);
        CHECK_INT(ocfl_settings_load_text(t, bad[i].text, "b.conf", OCFL_SETTINGS_ROOT, &err),
                  -EINVAL);
        CHECK(strstr(err.msg, bad[i].want) != NULL);
        if (!strstr(err.msg, bad[i].want))
            printf("#   got '%s'\n", err.msg);
        ocfl_settings_free(t);
    }
    /* fresh_state and state= only from the command line, not even from the system file */
    CHECK_INT(ocfl_settings_check("mount.options", "ro,fresh_state", OCFL_SETTINGS_SYSTEM, &err),
              -EINVAL);
    CHECK(strstr(err.msg, "option 'fresh_state' is taken only from the command line") != NULL);
    CHECK_INT(ocfl_settings_check("mount.options", "state=/tmp/x", OCFL_SETTINGS_ROOT, &err),
              -EINVAL);
    CHECK(strstr(err.msg, "option 'state' is taken only from the command line") != NULL);
    CHECK_OK(ocfl_settings_check("mount.options", "state=/tmp/x,fresh_state",
                                 OCFL_SETTINGS_COMMAND_LINE, &err));
    CHECK_OK(ocfl_settings_check("mount.options", "statefoo", OCFL_SETTINGS_USER, &err));
    /* text that is not UTF-8, from any source */
    CHECK_INT(ocfl_settings_check("user.name", "caf\xe9", OCFL_SETTINGS_SYSTEM, &err), -EINVAL);
    CHECK(strstr(err.msg, "'user.name': not UTF-8") != NULL);
    CHECK_INT(ocfl_settings_check("mount.options", "ctl=\xff", OCFL_SETTINGS_COMMAND_LINE, &err),
              -EINVAL);
    CHECK_OK(ocfl_settings_check("user.name", "caf\xc3\xa9", OCFL_SETTINGS_USER, &err));
    /* a backslash from every source, the system file's and the command line's too */
    CHECK_INT(ocfl_settings_check("mount.options", "allow\\_other", OCFL_SETTINGS_SYSTEM, &err),
              -EINVAL);
    CHECK_INT(ocfl_settings_check("mount.options", "ctl=a\\b", OCFL_SETTINGS_COMMAND_LINE, &err),
              -EINVAL);
    CHECK(strstr(err.msg, "option 'ctl=a\\b': a backslash is refused") != NULL);
    /* the one bad line leaves the good ones before it unset */
    ocfl_err_clear(&err);
    CHECK_INT(ocfl_settings_load_text(s, "[threads]\ncontent = 2\n[init]\ndigest = md5\n", "b.conf",
                                      OCFL_SETTINGS_USER, &err),
              -EINVAL);
    CHECK_INT(ocfl_settings_count(s, "threads.content"), 0);
    /* the system file may give what the others may not */
    CHECK_OK(ocfl_settings_load_text(s,
                                     "[mount]\naddress_template = mailto:{login}@example.org\n"
                                     "options = allow_other,commit_group=staff\n",
                                     "/etc/ocflfs.conf", OCFL_SETTINGS_SYSTEM, &err));
    CHECK_STR(ocfl_settings_get(s, "mount.options", NULL, NULL), "allow_other,commit_group=staff");
    ocfl_settings_free(s);
}

static void test_precedence(void)
{
    struct ocfl_settings *s;
    struct ocfl_err err = {0};
    enum ocfl_settings_source src;
    const char *where;

    CHECK_OK(ocfl_settings_new(&s));
    /* loaded in any order, the higher source wins key by key */
    CHECK_OK(
        ocfl_settings_load_text(s, "[threads]\ncontent = 3\n", "root", OCFL_SETTINGS_ROOT, &err));
    CHECK_OK(ocfl_settings_load_text(s, "[threads]\ncontent = 2\nhashing = 2\n[user]\nname = U\n",
                                     "user", OCFL_SETTINGS_USER, &err));
    CHECK_OK(ocfl_settings_load_text(s,
                                     "[threads]\ncontent = 1\nhashing = 1\n[init]\ndigest = "
                                     "sha256\n[user]\nname = S\n",
                                     "sys", OCFL_SETTINGS_SYSTEM, &err));
    CHECK_OK(ocfl_settings_set(s, "user.name", "C", OCFL_SETTINGS_COMMAND_LINE, "--user", &err));
    CHECK_INT(ocfl_settings_count(s, "threads.content"), 3);
    ocfl_settings_get(s, "threads.content", &src, &where);
    CHECK_INT(src, OCFL_SETTINGS_ROOT);
    CHECK_STR(where, "root:2");
    CHECK_INT(ocfl_settings_count(s, "threads.hashing"), 2);
    CHECK_STR(ocfl_settings_get(s, "init.digest", &src, NULL), "sha256");
    CHECK_INT(src, OCFL_SETTINGS_SYSTEM);
    CHECK_STR(ocfl_settings_get(s, "user.name", &src, &where), "C");
    CHECK_INT(src, OCFL_SETTINGS_COMMAND_LINE);
    CHECK_STR(where, "--user");
    /* -o lists add up across sources, the lower one's first, whatever the order read */
    CHECK_OK(ocfl_settings_load_text(s, "[mount]\noptions = cache=5\n", "root", OCFL_SETTINGS_ROOT,
                                     &err));
    CHECK_OK(ocfl_settings_load_text(s, "[mount]\noptions = allow_other\n", "sys",
                                     OCFL_SETTINGS_SYSTEM, &err));
    CHECK_OK(ocfl_settings_load_text(s, "[mount]\noptions = ctl=.x\noptions = ctl=.y\n", "user",
                                     OCFL_SETTINGS_USER, &err));
    CHECK_STR(ocfl_settings_get(s, "mount.options", &src, &where), "allow_other,ctl=.y,cache=5");
    CHECK_INT(src, OCFL_SETTINGS_ROOT);
    CHECK_STR(where, "sys:2, user:3, root:2");
    ocfl_settings_free(s);
    /* a later source's empty list adds nothing: the value, its source and its place are the
     * one list's */
    CHECK_OK(ocfl_settings_new(&s));
    CHECK_OK(ocfl_settings_load_text(s, "[mount]\noptions = ctl=.x\n", "sys", OCFL_SETTINGS_SYSTEM,
                                     &err));
    CHECK_OK(ocfl_settings_load_text(s, "[mount]\noptions =\n", "root", OCFL_SETTINGS_ROOT, &err));
    CHECK_STR(ocfl_settings_get(s, "mount.options", &src, &where), "ctl=.x");
    CHECK_INT(src, OCFL_SETTINGS_SYSTEM);
    CHECK_STR(where, "sys:2");
    ocfl_settings_free(s);
}

static void test_files(void)
{
    struct ocfl_settings *s;
    struct ocfl_err err = {0};
    char *text = NULL;

    CHECK_OK(ocfl_settings_new(&s));
    CHECK_OK(ocfl_settings_load_file(s, path("missing"), OCFL_SETTINGS_USER, (uid_t)-1, &err));
    put("root.conf", "[threads]\ncontent = 5\n", 0644);
    /* a root's file only when the user owns it and nobody else may write it */
    CHECK_INT(ocfl_settings_load_file(s, path("root.conf"), OCFL_SETTINGS_ROOT, getuid() + 1, &err),
              -EPERM);
    CHECK(strstr(err.msg, "is not owned by") != NULL);
    chmod(path("root.conf"), 0664);
    CHECK_INT(ocfl_settings_load_file(s, path("root.conf"), OCFL_SETTINGS_ROOT, getuid(), &err),
              -EPERM);
    CHECK(strstr(err.msg, "group- or world-writable") != NULL);
    CHECK_INT(ocfl_settings_count(s, "threads.content"), 0);
    chmod(path("root.conf"), 0644);
    char target[256];
    snprintf(target, sizeof(target), "%s", path("root.conf"));
    CHECK_OK(symlink(target, path("link.conf")));
    CHECK_INT(ocfl_settings_load_file(s, path("link.conf"), OCFL_SETTINGS_ROOT, getuid(), &err),
              -EPERM);
    CHECK(strstr(err.msg, "is a symbolic link") != NULL);
    CHECK_OK(ocfl_settings_load_file(s, path("root.conf"), OCFL_SETTINGS_ROOT, getuid(), &err));
    CHECK_INT(ocfl_settings_count(s, "threads.content"), 5);

    /* at most 1 MiB: exactly that is read, a byte more refused */
    {
        size_t big = 1u << 20;
        char *t = malloc(big + 2);
        struct ocfl_settings *u;
        const char *head = "[threads]\ncontent = 3\n";
        CHECK(t != NULL);
        if (t) {
            memset(t, '#', big + 1);
            for (size_t k = 79; k < big; k += 80)
                t[k] = '\n'; /* comment lines, no longer than a line may be */
            memcpy(t, head, strlen(head));
            t[big - 1] = '\n';
            t[big] = 0;
            int wfd = open(path("big.conf"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            CHECK(wfd >= 0 && write(wfd, t, big) == (ssize_t)big);
            close(wfd);
            CHECK_OK(ocfl_settings_new(&u));
            CHECK_OK(
                ocfl_settings_load_file(u, path("big.conf"), OCFL_SETTINGS_USER, (uid_t)-1, &err));
            CHECK_INT(ocfl_settings_count(u, "threads.content"), 3);
            wfd = open(path("big.conf"), O_WRONLY | O_APPEND);
            CHECK(wfd >= 0 && write(wfd, "\n", 1) == 1);
            close(wfd);
            CHECK_INT(
                ocfl_settings_load_file(u, path("big.conf"), OCFL_SETTINGS_USER, (uid_t)-1, &err),
                -EFBIG);
            ocfl_settings_free(u);
            free(t);
        }
    }
    /* setting one key keeps every other line */
    put("w.conf", "# mine\n[threads]\ncontent = 2 \n\n[user]\nname = X\n", 0644);
    CHECK_OK(ocfl_settings_write(path("w.conf"), "threads.content", "4", OCFL_SETTINGS_USER, &err));
    CHECK_OK(
        ocfl_settings_write(path("w.conf"), "threads.hashing", "auto", OCFL_SETTINGS_USER, &err));
    CHECK_OK(
        ocfl_settings_write(path("w.conf"), "init.digest", "sha256", OCFL_SETTINGS_USER, &err));
    CHECK_OK(ocfl_settings_write(path("sub/dir/new.conf"), "user.name", " Padded ",
                                 OCFL_SETTINGS_USER, &err));
    int fd = open(path("w.conf"), O_RDONLY);
    char buf[512] = {0};
    CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0);
    close(fd);
    CHECK_STR(buf, "# mine\n[threads]\ncontent = 4\nhashing = auto\n\n[user]\nname = "
                   "X\n[init]\ndigest = sha256\n");
    /* refused: a bad value, an unknown key, a key not for this file */
    CHECK_INT(ocfl_settings_write(path("w.conf"), "threads.content", "x", OCFL_SETTINGS_USER, &err),
              -EINVAL);
    CHECK_INT(ocfl_settings_write(path("w.conf"), "no.key", "1", OCFL_SETTINGS_USER, &err),
              -ENOENT);
    CHECK_INT(ocfl_settings_write(path("w.conf"), "mount.address_template", "mailto:{login}@x",
                                  OCFL_SETTINGS_USER, &err),
              -EINVAL);
    CHECK_OK(
        ocfl_settings_load_file(s, path("sub/dir/new.conf"), OCFL_SETTINGS_USER, (uid_t)-1, &err));
    CHECK_STR(ocfl_settings_get(s, "user.name", NULL, NULL), " Padded ");
    /* a tab or a carriage return at either end is kept too (written quoted) */
    const char *blank[] = {"mailto:a@b\t", "mailto:a@b\r", "mailto:a@b \r"};
    for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++) {
        struct ocfl_settings *t;
        CHECK_OK(ocfl_settings_write(path("blank.conf"), "user.address", blank[i],
                                     OCFL_SETTINGS_USER, &err));
        CHECK_OK(ocfl_settings_new(&t));
        CHECK_OK(
            ocfl_settings_load_file(t, path("blank.conf"), OCFL_SETTINGS_USER, (uid_t)-1, &err));
        CHECK_STR(ocfl_settings_get(t, "user.address", NULL, NULL), blank[i]);
        ocfl_settings_free(t);
    }
    free(text);
    ocfl_settings_free(s);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    test_defaults();
    test_syntax_and_values();
    test_precedence();
    test_files();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return check_done();
}
