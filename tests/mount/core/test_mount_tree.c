/* test_mount_tree.c: unit tests of the mount's tree scans, id encoding and time parsing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mount.h"

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct ocfl_state_entry *)a)->logical_path,
                  ((const struct ocfl_state_entry *)b)->logical_path);
}

static void make_version(struct ocfl_version *v, const char *const *paths, const char *const *dig,
                         size_t n, unsigned num, const char *created)
{
    memset(v, 0, sizeof(*v));
    v->num = num;
    v->created = (char *)created;
    v->state = calloc(n, sizeof(*v->state));
    for (size_t i = 0; i < n; i++) {
        v->state[i].logical_path = (char *)paths[i];
        v->state[i].digest = (char *)dig[i];
    }
    v->n_state = n;
    qsort(v->state, n, sizeof(*v->state), cmp_entry);
}

/* The children of @dir as "name/" for directories, joined by spaces. */
static const char *children(const struct ocfl_version *v, const char *dir)
{
    static char out[1024];
    char name[256];
    size_t pos = mount_tree_first(v, dir), next;
    int is_dir;

    out[0] = '\0';
    while (mount_tree_child(v, dir, pos, name, sizeof(name), &is_dir, &next) > 0) {
        if (out[0])
            strcat(out, " ");
        strcat(out, name);
        if (is_dir)
            strcat(out, "/");
        pos = next;
    }
    return out;
}

static void test_tree(void)
{
    static const char *const paths[] = {"a-b/x",  "a.txt", "a/b/c.txt", "a/b/c/d",    "a/b/c/e",
                                        "a/b/c0", "a/bc",  "b",         "z/deep/er/f"};
    static const char *const digs[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9"};
    struct ocfl_version v;

    make_version(&v, paths, digs, 9, 1, "2020-01-01T00:00:00Z");
    CHECK_INT(mount_tree_classify(&v, "", NULL), 2);
    CHECK_INT(mount_tree_classify(&v, "a", NULL), 2);
    CHECK_INT(mount_tree_classify(&v, "a-b", NULL), 2);
    CHECK_INT(mount_tree_classify(&v, "a.txt", NULL), 1);
    CHECK_INT(mount_tree_classify(&v, "a/b", NULL), 2);
    CHECK_INT(mount_tree_classify(&v, "a/b/c", NULL), 2);
    CHECK_INT(mount_tree_classify(&v, "a/b/c0", NULL), 1);
    CHECK_INT(mount_tree_classify(&v, "a/bc", NULL), 1);
    CHECK_INT(mount_tree_classify(&v, "a/b/c/d/e", NULL), 0);
    CHECK_INT(mount_tree_classify(&v, "z/deep", NULL), 2);
    CHECK_INT(mount_tree_classify(&v, "nope", NULL), 0);
    CHECK_INT(mount_tree_classify(&v, "a/", NULL), 0);
    {
        const struct ocfl_state_entry *e = NULL;
        CHECK_INT(mount_tree_classify(&v, "a/b/c/e", &e), 1);
        CHECK_STR(e ? e->digest : NULL, "5");
    }
    CHECK_STR(children(&v, ""), "a-b/ a.txt a/ b z/");
    CHECK_STR(children(&v, "a"), "b/ bc");
    CHECK_STR(children(&v, "a/b"), "c.txt c/ c0");
    CHECK_STR(children(&v, "a/b/c"), "d e");
    CHECK_STR(children(&v, "z/deep/er"), "f");
    CHECK_STR(children(&v, "b"), "");
    CHECK_INT(mount_tree_subdirs(&v, ""), 3);
    CHECK_INT(mount_tree_subdirs(&v, "a/b"), 1);
    CHECK_INT(mount_tree_subdirs(&v, "a/b/c"), 0);
    free(v.state);
}

static void test_introduced(void)
{
    static const char *const p1[] = {"keep", "change"}, *const d1[] = {"aa", "bb"};
    static const char *const p2[] = {"keep", "change", "new"}, *const d2[] = {"AA", "cc", "dd"};
    static const char *const p3[] = {"keep", "change", "new"}, *const d3[] = {"aa", "cc", "dd"};
    struct ocfl_version vs[3];
    struct ocfl_inventory inv = {.versions = vs, .n_versions = 3};

    make_version(&vs[0], p1, d1, 2, 1, "2020-01-01T00:00:00Z");
    make_version(&vs[1], p2, d2, 3, 2, "2020-01-02T00:00:00Z");
    make_version(&vs[2], p3, d3, 3, 3, "2020-01-03T00:00:00Z");
    CHECK_INT(mount_tree_introduced(&inv, 3, "keep"), 1); /* digests compare case-insensitively */
    CHECK_INT(mount_tree_introduced(&inv, 3, "change"), 2);
    CHECK_INT(mount_tree_introduced(&inv, 3, "new"), 2);
    CHECK_INT(mount_tree_introduced(&inv, 1, "change"), 1);
    for (int i = 0; i < 3; i++)
        free(vs[i].state);
}

static void test_names(void)
{
    char *s = NULL, *d = NULL, longid[400], longid2[400];

    CHECK_OK(mount_name_encode("ark:/12345/bcd987", &s));
    CHECK_STR(s, "ark:%2F12345%2Fbcd987");
    CHECK_OK(mount_name_decode(s, &d));
    CHECK_STR(d, "ark:/12345/bcd987");
    free(s);
    free(d);
    CHECK_OK(mount_name_encode(".hidden/100%/id.", &s));
    CHECK_STR(s, "%2Ehidden%2F100%25%2Fid.");
    CHECK_OK(mount_name_decode(s, &d));
    CHECK_STR(d, ".hidden/100%/id.");
    free(s);
    free(d);
    CHECK_INT(mount_name_decode(".x", &d), -EINVAL);
    CHECK_INT(mount_name_decode("a%2", &d), -EINVAL);
    CHECK_INT(mount_name_decode("a%41", &d), -EINVAL); /* only the three escapes exist */

    memset(longid, '/', 300);
    longid[300] = '\0';
    memcpy(longid2, longid, 301);
    longid2[299] = 'x';
    CHECK_OK(mount_name_encode(longid, &s));
    CHECK_OK(mount_name_encode(longid2, &d));
    CHECK(strlen(s) <= 255 && strlen(d) <= 255);
    CHECK(strchr(s, '~') != NULL);
    CHECK(strcmp(s, d) != 0);
    /* never cut inside an escape: the part before '~' is whole "%2F"s */
    CHECK_INT((strchr(s, '~') - s) % 3, 0);
    free(s);
    free(d);
}

static void test_time(void)
{
    struct timespec ts;

    CHECK_OK(mount_parse_time("2019-01-01T02:03:04Z", &ts));
    CHECK_INT(ts.tv_sec, 1546308184);
    CHECK_OK(mount_parse_time("2019-01-01T02:03:04.5+01:00", &ts));
    CHECK_INT(ts.tv_sec, 1546304584);
    CHECK_INT(ts.tv_nsec, 500000000);
    CHECK_OK(mount_parse_time("2019-01-01T02:03:04-00:30", &ts));
    CHECK_INT(ts.tv_sec, 1546309984);
    CHECK_INT(mount_parse_time("2019-01-01", &ts), -EINVAL);
    CHECK_INT(mount_parse_time("2019-13-01T00:00:00Z", &ts), -EINVAL);
    CHECK_INT(mount_parse_time("2019-01-01T00:00:00Zjunk", &ts), -EINVAL);
}

int main(void)
{
    test_tree();
    test_introduced();
    test_names();
    test_time();
    return check_done();
}
