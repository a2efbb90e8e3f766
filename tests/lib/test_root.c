/* test_root.c: storage roots: create (exact bytes), open, walk, find objects by id. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "io.h"
#include "root.h"

static char tmp[64], fixtures[1024];

static char *file_text(const char *root, const char *path)
{
    char *buf = NULL;
    int fd = open(root, O_RDONLY | O_DIRECTORY);

    if (fd < 0)
        return NULL;
    if (ocfl_io_read_file(fd, path, 1 << 20, &buf, NULL, NULL) < 0)
        buf = NULL;
    close(fd);
    return buf;
}

static void check_file(const char *root, const char *path, const char *want)
{
    char *got = file_text(root, path);
    CHECK_AT_(got && !strcmp(got, want), path, "got '%s', want '%s'", got ? got : "(none)", want);
    free(got);
}

static void test_create_open(void)
{
    struct ocfl_err err = {0};
    struct ocfl_root *root = NULL;
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/created", tmp);
    CHECK_OK(ocfl_root_create(path, NULL, NULL, NULL, &err));
    check_file(path, "0=ocfl_1.1", "ocfl_1.1\n");
    check_file(path, "ocfl_layout.json",
               "{\n  \"extension\": \"0004-hashed-n-tuple-storage-layout\",\n"
               "  \"description\": \"Hashed N-tuple Storage Layout\"\n}\n");
    check_file(path, "extensions/0004-hashed-n-tuple-storage-layout/config.json",
               "{\n  \"extensionName\": \"0004-hashed-n-tuple-storage-layout\",\n"
               "  \"digestAlgorithm\": \"sha256\",\n  \"tupleSize\": 3,\n"
               "  \"numberOfTuples\": 3,\n  \"shortObjectRoot\": false\n}\n");
    check_file(path, "extensions/ocflfs/config.json", "{\n  \"digestAlgorithm\": \"sha512\"\n}\n");
    sh("test $(find '%s' | wc -l) -eq 8", path); /* no temp files left */

    /* a second create in the same (now non-empty) directory */
    CHECK_INT(ocfl_root_create(path, NULL, NULL, NULL, &err), -EEXIST);
    CHECK(strstr(err.msg, path) != NULL);

    CHECK_OK(ocfl_root_open(path, &root, &err));
    if (root) {
        CHECK_INT(root->spec, OCFL_SPEC_1_1);
        CHECK_STR(root->layout_name, "0004-hashed-n-tuple-storage-layout");
        CHECK(root->layout != NULL);
        CHECK_STR(root->digest_algorithm, "sha512");
        char *p = NULL;
        CHECK_OK(ocfl_root_object_path(root, "object-01", &p, &err));
        CHECK_STR(p,
                  "3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4");
        free(p);
        ocfl_root_close(root);
        root = NULL;
    }

    /* another layout with a config, sha256, in an existing empty directory */
    snprintf(path, sizeof(path), "%s/created2", tmp);
    sh("mkdir '%s'", path);
    CHECK_OK(ocfl_root_create(path, "0007-n-tuple-omit-prefix-storage-layout",
                              "{\"delimiter\": \"edu/\", \"zeroPadding\": \"right\"}", "sha256",
                              &err));
    check_file(path, "extensions/0007-n-tuple-omit-prefix-storage-layout/config.json",
               "{\n  \"extensionName\": \"0007-n-tuple-omit-prefix-storage-layout\",\n"
               "  \"delimiter\": \"edu/\",\n  \"tupleSize\": 3,\n  \"numberOfTuples\": 3,\n"
               "  \"zeroPadding\": \"right\",\n  \"reverseObjectRoot\": false\n}\n");
    check_file(path, "extensions/ocflfs/config.json", "{\n  \"digestAlgorithm\": \"sha256\"\n}\n");
    CHECK_OK(ocfl_root_open(path, &root, &err));
    if (root) {
        char *p = NULL;
        CHECK_STR(root->digest_algorithm, "sha256");
        CHECK_OK(ocfl_root_object_path(root, "https://institution.edu/3448793", &p, &err));
        CHECK_STR(p, "344/879/300/3448793");
        free(p);
        ocfl_root_close(root);
        root = NULL;
    }

    /* 0002 has no parameters: no config.json */
    snprintf(path, sizeof(path), "%s/created3", tmp);
    CHECK_OK(ocfl_root_create(path, "0002-flat-direct-storage-layout", NULL, NULL, &err));
    sh("test ! -e '%s/extensions/0002-flat-direct-storage-layout'", path);

    /* refusals */
    snprintf(path, sizeof(path), "%s/bad", tmp);
    CHECK_INT(ocfl_root_create(path, "0099-nonsense", NULL, NULL, &err), -ENOTSUP);
    CHECK_INT(ocfl_root_create(path, NULL, NULL, "md5", &err), -EINVAL);
    CHECK_INT(ocfl_root_create(path, "0006-flat-omit-prefix-storage-layout", NULL, NULL, &err),
              -EINVAL);
    CHECK(strstr(err.msg, "delimiter") != NULL);
    sh("test ! -e '%s'", path);
    sh("mkdir '%s'", path);
    CHECK_INT(ocfl_root_open(path, &root, &err), -EMEDIUMTYPE);
    CHECK(strstr(err.msg, "not an OCFL storage root") != NULL);
    CHECK(root == NULL);
    snprintf(path, sizeof(path), "%s/missing", tmp);
    CHECK_INT(ocfl_root_open(path, &root, &err), -ENOENT);
    snprintf(path, sizeof(path), "%s/created/0=ocfl_1.1", tmp);
    CHECK_INT(ocfl_root_open(path, &root, &err), -ENOTDIR);
}

struct seen {
    char paths[64][256];
    int n;
};

static int collect(void *ctx, const char *object_path)
{
    struct seen *s = ctx;
    if (s->n < 64)
        snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", object_path);
    s->n++;
    return 0;
}

static int has(const struct seen *s, const char *path)
{
    for (int i = 0; i < s->n && i < 64; i++)
        if (!strcmp(s->paths[i], path))
            return 1;
    return 0;
}

static int stop_at_second(void *ctx, const char *object_path)
{
    int *n = ctx;
    (void)object_path;
    return ++*n == 2 ? 42 : 0;
}

/* A root without a layout, the fixtures flat at the top and nested deeper. */
static void test_walk_and_find(void)
{
    struct ocfl_err err = {0};
    struct ocfl_root *root = NULL;
    struct seen seen = {0};
    char path[PATH_MAX], *found = NULL;
    int n = 0;

    snprintf(path, sizeof(path), "%s/walk", tmp);
    sh("mkdir -p '%s/a/b' '%s/extensions/x' && printf 'ocfl_1.1\\n' > '%s/0=ocfl_1.1'", path, path,
       path);
    sh("cp -r '%s/minimal_one_version_one_file' '%s/spec-ex-full' '%s/'", fixtures, fixtures, path);
    sh("cp -r '%s/updates_all_actions' '%s/a/b/'", fixtures, path);
    sh("cp -r '%s/minimal_no_content' '%s/a/'", fixtures, path);
    /* not objects: under extensions/, behind a symlink, an object's own subdirectory */
    sh("cp -r '%s/diff_files_same_md5' '%s/extensions/x/'", fixtures, path);
    sh("ln -s a/b '%s/link' && ln -s '%s/minimal_mixed_digests' '%s/a/outside'", path, fixtures,
       path);
    CHECK_OK(ocfl_root_open(path, &root, &err));
    if (!root)
        return;
    CHECK(root->layout == NULL);
    CHECK(root->layout_name == NULL);
    CHECK_INT(ocfl_root_walk(root, collect, &seen, &err), 0);
    CHECK_INT(seen.n, 4);
    CHECK(has(&seen, "minimal_one_version_one_file"));
    CHECK(has(&seen, "spec-ex-full"));
    CHECK(has(&seen, "a/b/updates_all_actions"));
    CHECK(has(&seen, "a/minimal_no_content"));
    /* sorted order, and repeatable */
    CHECK_STR(seen.paths[0], "a/b/updates_all_actions");
    memset(&seen, 0, sizeof(seen));
    CHECK_INT(ocfl_root_walk(root, collect, &seen, &err), 0);
    CHECK_INT(seen.n, 4);
    CHECK_INT(ocfl_root_walk(root, stop_at_second, &n, &err), 42);
    CHECK_INT(n, 2);

    CHECK_OK(ocfl_root_find_object(root, "ark:123/abc", &found, &err));
    CHECK_STR(found, "minimal_one_version_one_file");
    free(found);
    found = NULL;
    CHECK_OK(ocfl_root_find_object(root, "http://example.org/minimal_no_content", &found, &err));
    CHECK_STR(found, "a/minimal_no_content");
    free(found);
    found = NULL;
    CHECK_INT(ocfl_root_find_object(root, "https://example.org/same_md5sum_example", &found, &err),
              -ENOENT);
    CHECK(strstr(err.msg, "same_md5sum_example") != NULL);
    CHECK(found == NULL);
    CHECK_INT(ocfl_root_object_path(root, "x", &found, &err), -ENOTSUP);
    ocfl_root_close(root);

    /* an unknown layout: its name is kept, objects are still found by walking */
    sh("printf '{\"extension\": \"0099-unknown\", \"description\": \"?\"}' > '%s/ocfl_layout.json'",
       path);
    root = NULL;
    CHECK_OK(ocfl_root_open(path, &root, &err));
    if (root) {
        CHECK(root->layout == NULL);
        CHECK_STR(root->layout_name, "0099-unknown");
        CHECK_INT(ocfl_root_find_object(root, "info:something/abc", &found, &err), -ENOENT);
        CHECK_OK(ocfl_root_find_object(root, "info:bb123cd4567", &found, &err));
        CHECK_STR(found, "a/b/updates_all_actions");
        free(found);
        found = NULL;
        ocfl_root_close(root);
    }
}

/* A root with 0004: objects where the layout puts them are found without a walk. */
static void test_find_by_layout(void)
{
    struct ocfl_err err = {0};
    struct ocfl_root *root = NULL;
    char path[PATH_MAX], *where = NULL, *found = NULL;

    snprintf(path, sizeof(path), "%s/hashed", tmp);
    CHECK_OK(ocfl_root_create(path, NULL, "{\"tupleSize\": 2, \"numberOfTuples\": 2}", NULL, &err));
    CHECK_OK(ocfl_root_open(path, &root, &err));
    if (!root)
        return;
    CHECK_OK(ocfl_root_object_path(root, "http://example.org/minimal_mixed_digests", &where, &err));
    if (where) {
        sh("mkdir -p '%s/%s' && cp -r '%s/minimal_mixed_digests/.' '%s/%s/'", path, where, fixtures,
           path, where);
        CHECK_OK(
            ocfl_root_find_object(root, "http://example.org/minimal_mixed_digests", &found, &err));
        CHECK_STR(found, where);
        free(found);
        found = NULL;
    }
    /* an object misplaced (not where the layout says): the layout decides, so it is not
     * found; with find_misplaced the root is walked and it is */
    sh("mkdir -p '%s/zz' && cp -r '%s/spec-ex-full' '%s/zz/'", path, fixtures, path);
    CHECK(ocfl_root_find_object(root, "ark:/12345/bcd987", &found, &err) == -ENOENT);
    CHECK(found == NULL);
    root->find_misplaced = 1;
    CHECK_OK(ocfl_root_find_object(root, "ark:/12345/bcd987", &found, &err));
    CHECK_STR(found, "zz/spec-ex-full");
    free(found);
    free(where);
    ocfl_root_close(root);
}

/* Walk speed: many objects in a 0004-like tree (a small version of 100,000). */
static void test_walk_many(void)
{
    struct ocfl_root *root = NULL;
    struct seen seen = {0};
    struct timespec t0, t1;
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/many", tmp);
    sh("mkdir -p '%s' && printf 'ocfl_1.1\\n' > '%s/0=ocfl_1.1' && cd '%s' && "
       "for a in 0 1 2 3 4 5 6 7 8 9; do for b in 0 1 2 3 4 5 6 7 8 9; do "
       "for c in 0 1 2 3 4 5 6 7 8 9; do mkdir -p $a/$b/$c$a$b; : > "
       "$a/$b/$c$a$b/0=ocfl_object_1.1; "
       "done; done; done",
       path, path, path);
    CHECK_OK(ocfl_root_open(path, &root, NULL));
    if (!root)
        return;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(ocfl_root_walk(root, collect, &seen, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_INT(seen.n, 1000);
    printf("# walked 1000 objects in %.1f ms\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    ocfl_root_close(root);
}

int main(void)
{
    const char *shared = getenv("OCFL_SHARED");
    char tmpl[] = "/tmp/ocfl-test-root-XXXXXX";

    if (!shared) {
        printf("# OCFL_SHARED is not set\n");
        return 1;
    }
    snprintf(fixtures, sizeof(fixtures), "%s/ocfl/fixtures/1.1/good-objects", shared);
    if (!mkdtemp(tmpl))
        return 2;
    snprintf(tmp, sizeof(tmp), "%s", tmpl);
    test_create_open();
    test_walk_and_find();
    test_find_by_layout();
    test_walk_many();
    sh("rm -rf '%s'", tmp);
    return check_done();
}
