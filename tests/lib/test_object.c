/* test_object.c: open every good fixture, read every file of every version; hostile objects. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io.h"
#include "object.h"

static char tmp[64], fixtures[1024], fixtures10[1024];

/* Resolve and read every logical path of every version; the bytes must have their digest. */
static void read_all(const struct ocfl_object *obj, const char *name)
{
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(obj->inv->digest_algorithm);
    size_t files = 0, good = 0;

    for (size_t v = 0; v < obj->inv->n_versions; v++) {
        const struct ocfl_version *ver = &obj->inv->versions[v];
        for (size_t i = 0; i < ver->n_state; i++) {
            const char *lp = ver->state[i].logical_path, *digest = NULL, *content = NULL;
            char hex[OCFL_DIGEST_COUNT_][OCFL_DIGEST_HEX_MAX];
            struct ocfl_err err = {0};
            int fd;

            files++;
            if (ocfl_object_resolve(obj, ver->num, lp, &digest, &content, &err) < 0) {
                printf("# %s v%u %s: %s\n", name, ver->num, lp, err.msg);
                continue;
            }
            fd = ocfl_object_open_content(obj, content, &err);
            if (fd < 0) {
                printf("# %s %s: %s\n", name, content, err.msg);
                continue;
            }
            if (ocfl_digest_fd(fd, 1u << alg, hex, NULL, &err) == 0 &&
                ocfl_digest_equal(hex[alg], digest))
                good++;
            else
                printf("# %s %s: digest mismatch\n", name, content);
            close(fd);
        }
    }
    CHECK_AT_(files > 0 || !strcmp(name, "minimal_no_content"), name, "no files");
    CHECK_AT_(good == files, name, "%zu of %zu files read with the right digest", good, files);
}

static void test_good_fixtures(const char *dir, int want)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    DIR *d = fdopendir(dup(dfd));
    struct dirent *de;
    int n = 0;

    CHECK(dfd >= 0 && d != NULL);
    if (dfd < 0 || !d)
        return;
    while ((de = readdir(d))) {
        struct ocfl_object *obj = NULL;
        struct ocfl_err err = {0};
        char side[OCFL_DIGEST_HEX_MAX];
        if (de->d_name[0] == '.')
            continue;
        n++;
        int r = ocfl_object_open(dfd, de->d_name, &obj, &err);
        CHECK_AT_(r == 0, de->d_name, "open: %s", err.msg);
        if (r < 0)
            continue;
        CHECK_STR(obj->path, de->d_name);
        CHECK_OK(ocfl_object_read_sidecar(obj->fd, "", obj->inv->digest_algorithm, side, &err));
        CHECK_STR(obj->inventory_digest, side);
        read_all(obj, de->d_name);
        ocfl_object_close(obj);
    }
    closedir(d);
    close(dfd);
    CHECK_INT(n, want);
}

static void test_resolve(int tfd)
{
    struct ocfl_object *obj = NULL;
    struct ocfl_err err = {0};
    const char *digest = NULL, *content = NULL;

    sh("cp -r '%s/updates_three_versions_one_file' '%s/three'", fixtures, tmp);
    CHECK_OK(ocfl_object_open(tfd, "three", &obj, &err));
    if (!obj)
        return;
    CHECK_INT(obj->inv->n_versions, 3);
    CHECK_OK(ocfl_object_resolve(obj, 0, "a_file.txt", &digest, &content, &err));
    CHECK_STR(content, "v3/content/a_file.txt");
    CHECK_OK(ocfl_object_resolve(obj, 1, "a_file.txt", &digest, &content, &err));
    CHECK_STR(content, "v1/content/a_file.txt");
    CHECK_INT(ocfl_object_resolve(obj, 4, "a_file.txt", &digest, &content, &err), -ENOENT);
    CHECK_INT(ocfl_object_resolve(obj, 1, "missing.txt", &digest, &content, &err), -ENOENT);
    CHECK(strstr(err.msg, "missing.txt") != NULL);
    /* paths that leave the object are refused before the disk is touched */
    CHECK_INT(ocfl_object_open_content(obj, "../three/v1/content/a_file.txt", &err), -EXDEV);
    CHECK_INT(ocfl_object_open_content(obj, "v1/content/../../../x", &err), -EXDEV);
    CHECK_INT(ocfl_object_open_content(obj, "/etc/passwd", &err), -EXDEV);
    CHECK_INT(ocfl_object_open_content(obj, "v1/content", &err), -EBADMSG);
    ocfl_object_close(obj);
}

static void test_hostile(int tfd)
{
    struct ocfl_object *obj = NULL;
    struct ocfl_err err = {0};
    const char *content = NULL;
    char hex[OCFL_DIGEST_HEX_MAX];

    /* content that is a symlink to a file outside the object (same bytes, even) */
    sh("cp -r '%s/minimal_one_version_one_file' '%s/evil'", fixtures, tmp);
    sh("cp '%s/evil/v1/content/a_file.txt' '%s/outside.txt'", tmp, tmp);
    sh("rm '%s/evil/v1/content/a_file.txt' && ln -s ../../../outside.txt "
       "'%s/evil/v1/content/a_file.txt'",
       tmp, tmp);
    CHECK_OK(ocfl_object_open(tfd, "evil", &obj, &err));
    if (obj) {
        CHECK_OK(ocfl_object_resolve(obj, 1, "a_file.txt", NULL, &content, &err));
        CHECK_STR(content, "v1/content/a_file.txt");
        CHECK_INT(ocfl_object_open_content(obj, content, &err), -ELOOP);
        CHECK(strstr(err.msg, "v1/content/a_file.txt") != NULL);
        ocfl_object_close(obj);
        obj = NULL;
    }
    /* a content directory that is a symlink */
    sh("rm -r '%s/evil/v1/content' && mkdir '%s/real' && cp '%s/outside.txt' '%s/real/a_file.txt'"
       " && ln -s ../../real '%s/evil/v1/content'",
       tmp, tmp, tmp, tmp, tmp);
    CHECK_OK(ocfl_object_open(tfd, "evil", &obj, &err));
    if (obj) {
        CHECK_INT(ocfl_object_open_content(obj, "v1/content/a_file.txt", &err), -ELOOP);
        ocfl_object_close(obj);
        obj = NULL;
    }
    /* the object root itself reached through a symlink */
    sh("ln -s evil '%s/evil-link'", tmp);
    CHECK_INT(ocfl_object_open(tfd, "evil-link", &obj, &err), -ELOOP);

    /* an inventory changed after its sidecar was written */
    sh("cp -r '%s/minimal_one_version_one_file' '%s/changed' && echo ' ' >> "
       "'%s/changed/inventory.json'",
       fixtures, tmp, tmp);
    CHECK_INT(ocfl_object_open(tfd, "changed", &obj, &err), -EBADMSG);
    CHECK(strstr(err.msg, "inventory.json") != NULL);
    CHECK(strstr(err.msg, "sidecar") != NULL);
    CHECK(obj == NULL);

    /* sidecar forms: tabs and several spaces, upper case, wrong length, wrong name */
    sh("cd '%s/changed' && sha512sum inventory.json | "
       "sed 's/^\\([0-9a-f]*\\)  /\\U\\1\\E\\t  \\t/' > inventory.json.sha512",
       tmp);
    CHECK_OK(ocfl_object_open(tfd, "changed", &obj, &err));
    if (obj) {
        CHECK_OK(ocfl_object_read_sidecar(obj->fd, "", "sha512", hex, &err));
        CHECK_STR(hex, obj->inventory_digest);
        CHECK(strspn(hex, "0123456789abcdef") == 128);
        ocfl_object_close(obj);
        obj = NULL;
    }
    int cfd = ocfl_io_open(tfd, "changed", O_RDONLY | O_DIRECTORY, 0);
    CHECK(cfd >= 0);
    sh("printf 'abc inventory.json\\n' > '%s/changed/inventory.json.sha512'", tmp);
    CHECK_INT(ocfl_object_read_sidecar(cfd, "", "sha512", hex, &err), -EBADMSG);
    CHECK(strstr(err.msg, "inventory.json.sha512") != NULL);
    sh("cd '%s/changed' && sha512sum inventory.json | sed 's/inventory.json/inv.json/' > "
       "inventory.json.sha512",
       tmp);
    CHECK_INT(ocfl_object_read_sidecar(cfd, "", "sha512", hex, &err), -EBADMSG);
    CHECK_OK(ocfl_object_read_sidecar(cfd, "v1", "sha512", hex, &err));
    CHECK_INT(strlen(hex), 128);
    close(cfd);
    CHECK_INT(ocfl_object_open(tfd, "changed", &obj, &err), -EBADMSG);

    /* no sidecar; no inventory; no declaration; a wrong declaration; nothing at all */
    sh("rm '%s/changed/inventory.json.sha512'", tmp);
    CHECK_INT(ocfl_object_open(tfd, "changed", &obj, &err), -EBADMSG);
    sh("rm '%s/changed/inventory.json'", tmp);
    CHECK_INT(ocfl_object_open(tfd, "changed", &obj, &err), -EBADMSG);
    CHECK(strstr(err.msg, "inventory.json") != NULL);
    sh("printf 'ocfl_object_1.0\\n' > '%s/changed/0=ocfl_object_1.1'", tmp);
    CHECK_INT(ocfl_object_open(tfd, "changed", &obj, &err), -EBADMSG);
    CHECK(strstr(err.msg, "0=ocfl_object_1.1") != NULL);
    sh("rm '%s/changed/0=ocfl_object_1.1'", tmp);
    CHECK_INT(ocfl_object_open(tfd, "changed", &obj, &err), -ENOENT);
    CHECK_INT(ocfl_object_open(tfd, "nothing-here", &obj, &err), -ENOENT);
    CHECK_INT(ocfl_object_open(tfd, "../etc", &obj, &err), -EXDEV);
    ocfl_object_close(NULL);
}

int main(void)
{
    const char *shared = getenv("OCFL_SHARED");
    char tmpl[] = "/tmp/ocfl-test-object-XXXXXX";
    int tfd;

    if (!shared) {
        printf("# OCFL_SHARED is not set\n");
        return 1;
    }
    snprintf(fixtures, sizeof(fixtures), "%s/ocfl/fixtures/1.1/good-objects", shared);
    if (!mkdtemp(tmpl))
        return 2;
    snprintf(tmp, sizeof(tmp), "%s", tmpl);
    tfd = open(tmp, O_RDONLY | O_DIRECTORY);
    if (tfd < 0)
        return 2;
    test_good_fixtures(fixtures, 12);
    snprintf(fixtures10, sizeof(fixtures10), "%s/ocfl/fixtures/1.0/good-objects", shared);
    test_good_fixtures(fixtures10, 10);
    test_resolve(tfd);
    test_hostile(tfd);
    close(tfd);
    sh("rm -rf '%s'", tmp);
    return check_done();
}
