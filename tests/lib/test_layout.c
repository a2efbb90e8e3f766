/* test_layout.c: every worked example of extensions 0002, 0003, 0004, 0006, 0007, and bad configs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "layout.h"

#define L0002 "0002-flat-direct-storage-layout"
#define L0003 "0003-hash-and-id-n-tuple-storage-layout"
#define L0004 "0004-hashed-n-tuple-storage-layout"
#define L0006 "0006-flat-omit-prefix-storage-layout"
#define L0007 "0007-n-tuple-omit-prefix-storage-layout"

#define ABC10  "abcdefghij"
#define ABC100 ABC10 ABC10 ABC10 ABC10 ABC10 ABC10 ABC10 ABC10 ABC10 ABC10

struct example {
    const char *layout, *config, *id, *path; /* path NULL: the mapping must be refused */
};

static const struct example examples[] = {
    /* 0002 example 1 */
    {L0002, NULL, "object-01", "object-01"},
    {L0002, NULL, "..hor_rib:l\xc3\xa9-$id", "..hor_rib:l\xc3\xa9-$id"},
    /* 0002 example 2: the doc calls these invalid directory names on unix; refused */
    {L0002, NULL, "info:fedora/object-01", NULL},
    {L0002, NULL, ABC100 ABC100 ABC10 ABC10 ABC10 ABC10 ABC10 ABC10, NULL},
    /* 0003 encapsulation table and example 1 (defaults) */
    {L0003, NULL, "object-01", "3c0/ff4/240/object-01"},
    {L0003, NULL, "..hor/rib:le-$id", "487/326/d8c/%2e%2ehor%2frib%3ale-%24id"},
    {L0003, NULL, "..Hor/rib:l\xc3\xa8-$id", "373/529/21a/%2e%2eHor%2frib%3al%c3%a8-%24id"},
    {L0003,
     "{\"extensionName\": \"" L0003 "\", \"digestAlgorithm\": \"sha256\", \"tupleSize\": 3, "
     "\"numberOfTuples\": 3}",
     ABC100 "a",
     "5cc/73e/648/" ABC100 "-5cc73e648fbcff136510e330871180922ddacf193b68fdeff855683a01464220"},
    {L0003, NULL, ABC100 ABC100 ABC10 ABC10 ABC10 ABC10 ABC10 ABC10,
     "55b/432/806/" ABC100 "-55b432806f4e270da0cf23815ed338742179002153cd8d896f23b3e2d8a14359"},
    /* 0003 example 2 */
    {L0003, "{\"digestAlgorithm\": \"md5\", \"tupleSize\": 2, \"numberOfTuples\": 15}", "object-01",
     "ff/75/53/44/92/48/5e/ab/b3/9f/86/35/67/28/88/object-01"},
    {L0003, "{\"digestAlgorithm\": \"md5\", \"tupleSize\": 2, \"numberOfTuples\": 15}",
     "..hor/rib:le-$id", "08/31/97/66/fb/6c/29/35/dd/17/5b/94/26/77/17/%2e%2ehor%2frib%3ale-%24id"},
    /* 0003 example 3 (the doc's table says `object-id`, a typo; its code says object-01) */
    {L0003, "{\"digestAlgorithm\": \"sha256\", \"tupleSize\": 0, \"numberOfTuples\": 0}",
     "object-01", "object-01"},
    {L0003, "{\"digestAlgorithm\": \"sha256\", \"tupleSize\": 0, \"numberOfTuples\": 0}",
     "..hor/rib:le-$id", "%2e%2ehor%2frib%3ale-%24id"},
    /* 0003 python code checks */
    {L0003, "{\"digestAlgorithm\": \"md5\"}", "object-01", "ff7/553/449/object-01"},
    {L0003, "{\"digestAlgorithm\": \"md5\", \"tupleSize\": 5, \"numberOfTuples\": 2}", "object-01",
     "ff755/34492/object-01"},
    {L0003, "{\"digestAlgorithm\": \"md5\", \"tupleSize\": 0, \"numberOfTuples\": 0}", "object-01",
     "object-01"},
    {L0003, "{\"digestAlgorithm\": \"md5\"}", "..hor/rib:le-$id",
     "083/197/66f/%2e%2ehor%2frib%3ale-%24id"},
    /* 0004 example 1 */
    {L0004, NULL, "object-01",
     "3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"},
    {L0004, NULL, "..hor/rib:le-$id",
     "487/326/d8c/487326d8c2a3c0b885e23da1469b4d6671fd4e76978924b4443e9e3c316cda6d"},
    /* 0004 example 2 */
    {L0004,
     "{\"extensionName\": \"" L0004 "\", \"digestAlgorithm\": \"md5\", \"tupleSize\": 2, "
     "\"numberOfTuples\": 15, \"shortObjectRoot\": true}",
     "object-01", "ff/75/53/44/92/48/5e/ab/b3/9f/86/35/67/28/88/4e"},
    {L0004,
     "{\"digestAlgorithm\": \"md5\", \"tupleSize\": 2, \"numberOfTuples\": 15, "
     "\"shortObjectRoot\": true}",
     "..hor/rib:le-$id", "08/31/97/66/fb/6c/29/35/dd/17/5b/94/26/77/17/e0"},
    /* 0004 example 3 */
    {L0004, "{\"tupleSize\": 0, \"numberOfTuples\": 0, \"shortObjectRoot\": false}", "object-01",
     "3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"},
    {L0004, "{\"tupleSize\": 0, \"numberOfTuples\": 0}", "..hor/rib:le-$id",
     "487326d8c2a3c0b885e23da1469b4d6671fd4e76978924b4443e9e3c316cda6d"},
    /* 0004 with the other fixity algorithms (digests from Python's hashlib) */
    {L0004, "{\"digestAlgorithm\": \"sha512\", \"tupleSize\": 4, \"numberOfTuples\": 1}",
     "object-01",
     "d360/d3601f87119afe50380069e8dbdb3907c00a87ba98d2acf608b43b07f0b7271955fd3b9f9edcbf2be955d49f"
     "76e513d9b87895c131d6b609c149dfbc55b3aed4"},
    {L0004,
     "{\"digestAlgorithm\": \"sha1\", \"tupleSize\": 10, \"numberOfTuples\": 3, "
     "\"shortObjectRoot\": true}",
     "object-01", "b2773f2fd4/fff0bc1e6b/714ec9d2fd/b29f01a2f0"},
    {L0004,
     "{\"digestAlgorithm\": \"blake2b-512\", \"tupleSize\": 32, \"numberOfTuples\": 3, "
     "\"shortObjectRoot\": true}",
     "object-01",
     "860ef803e364030bdc23bdc27a6eff83/c472b554653c21513f0bdec3d240d944/"
     "440fed57af380941c85d669e10b9d38b/3309e164d309afae3b528f87bd2b3021"},
    /* 0006 example 1 */
    {L0006, "{\"extensionName\": \"" L0006 "\", \"delimiter\": \":\"}", "namespace:12887296",
     "12887296"},
    {L0006, "{\"delimiter\": \":\"}", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
     "6e8bc430-9c3a-11d9-9669-0800200c9a66"},
    /* 0006 example 2 */
    {L0006, "{\"delimiter\": \"edu/\"}", "https://institution.edu/3448793", "3448793"},
    {L0006, "{\"delimiter\": \"edu/\"}", "https://institution.edu/abc/edu/f8.05v", "f8.05v"},
    /* 0006 example 3: invalid on unix (a '/' in the name, an absolute path); refused */
    {L0006, "{\"delimiter\": \"info:\"}", "info:fedora/object-01", NULL},
    {L0006, "{\"delimiter\": \"info:\"}", "https://example.org/info:/12345/x54xz321/s3/f8.05v",
     NULL},
    /* 0006: the delimiter is case-insensitive; missing or final delimiter is an error */
    {L0006, "{\"delimiter\": \"info:\"}", "INFO:fedora", "fedora"},
    {L0006, "{\"delimiter\": \":\"}", "no-delimiter", NULL},
    {L0006, "{\"delimiter\": \":\"}", "ends-with:", NULL},
    /* 0007 example 1 */
    {L0007,
     "{\"extensionName\": \"" L0007 "\", \"delimiter\": \":\", \"tupleSize\": 4, "
     "\"numberOfTuples\": 2, \"zeroPadding\": \"left\", \"reverseObjectRoot\": true}",
     "namespace:12887296", "6927/8821/12887296"},
    {L0007,
     "{\"delimiter\": \":\", \"tupleSize\": 4, \"numberOfTuples\": 2, \"zeroPadding\": "
     "\"left\", \"reverseObjectRoot\": true}",
     "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
     "66a9/c002/6e8bc430-9c3a-11d9-9669-0800200c9a66"},
    {L0007, "{\"tupleSize\": 4, \"numberOfTuples\": 2, \"reverseObjectRoot\": true}", "abc123",
     "321c/ba00/abc123"},
    /* 0007 example 2 */
    {L0007,
     "{\"delimiter\": \"edu/\", \"tupleSize\": 3, \"numberOfTuples\": 3, \"zeroPadding\": "
     "\"right\", \"reverseObjectRoot\": false}",
     "https://institution.edu/3448793", "344/879/300/3448793"},
    {L0007, "{\"delimiter\": \"edu/\", \"zeroPadding\": \"right\"}",
     "https://institution.edu/abc/edu/f8.05v", "f8./05v/000/f8.05v"},
    /* 0007: defaults, ASCII only, final delimiter, unsafe tuples */
    {L0007, NULL, "ark:12", "000/000/012/12"},
    {L0007, NULL, "ark:caf\xc3\xa9", NULL},
    {L0007, NULL, "ark:", NULL},
    {L0007, "{\"tupleSize\": 2, \"numberOfTuples\": 1}", "x:..abc", NULL},
    {L0007, NULL, "x:a/bcdefgh", NULL},
    /* ids that map onto the storage root's own names */
    {L0002, NULL, "extensions", NULL},
    {L0002, NULL, "0=ocfl_1.1", NULL},
    {L0002, NULL, "..", NULL},
    {L0002, NULL, "", NULL},
};

static void test_examples(void)
{
    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
        const struct example *e = &examples[i];
        struct ocfl_layout *l = NULL;
        struct ocfl_err err = {0};
        char *path = NULL;
        int r;

        r = ocfl_layout_new(e->layout, e->config, &l, &err);
        CHECK_AT_(r == 0, e->layout, "example %zu: new: %s", i, err.msg);
        if (r < 0)
            continue;
        r = ocfl_layout_map(l, e->id, &path, &err);
        if (e->path) {
            CHECK_AT_(r == 0 && !strcmp(path, e->path), e->id, "example %zu: got '%s' (%s)", i,
                      r == 0 ? path : "", r == 0 ? "" : err.msg);
        } else {
            CHECK_AT_(r == -EINVAL && path == NULL && strstr(err.msg, "object id"), e->id,
                      "example %zu: want -EINVAL, got %d '%s'", i, r, r == 0 ? path : err.msg);
        }
        free(path);
        ocfl_layout_free(l);
    }
}

struct bad_config {
    const char *layout, *config, *param;
};

static const struct bad_config bad[] = {
    {L0003, "{\"tupleSize\": 33}", "tupleSize"},
    {L0003, "{\"tupleSize\": -1}", "tupleSize"},
    {L0003, "{\"numberOfTuples\": 33}", "numberOfTuples"},
    {L0003, "{\"tupleSize\": \"3\"}", "tupleSize"},
    {L0003, "{\"tupleSize\": 3.5}", "tupleSize"},
    {L0003, "{\"tupleSize\": 0}", "tupleSize"},
    {L0003, "{\"numberOfTuples\": 0}", "numberOfTuples"},
    {L0003, "{\"digestAlgorithm\": \"md5\", \"tupleSize\": 5, \"numberOfTuples\": 7}", "tupleSize"},
    {L0003, "{\"digestAlgorithm\": \"\"}", "digestAlgorithm"},
    {L0003, "{\"digestAlgorithm\": \"crc32\"}", "digestAlgorithm"},
    {L0003, "{\"digestAlgorithm\": \"size\"}", "digestAlgorithm"},
    {L0003, "{\"extensionName\": \"" L0004 "\"}", "extensionName"},
    {L0004,
     "{\"digestAlgorithm\": \"md5\", \"tupleSize\": 2, \"numberOfTuples\": 16, "
     "\"shortObjectRoot\": true}",
     "shortObjectRoot"},
    {L0004, "{\"shortObjectRoot\": \"yes\"}", "shortObjectRoot"},
    {L0004, "{\"tupleSize\": 32, \"numberOfTuples\": 3}", "tupleSize"},
    {L0004, "[1, 2]", "JSON object"},
    {L0004, "{\"tupleSize\": ", "invalid JSON"},
    {L0004, "{\"tupleSize\": 1, \"tupleSize\": 2}", "invalid JSON"},
    {L0006, NULL, "delimiter"},
    {L0006, "{\"delimiter\": \"\"}", "delimiter"},
    {L0006, "{\"delimiter\": 5}", "delimiter"},
    {L0007, "{\"tupleSize\": 0}", "tupleSize"},
    {L0007, "{\"numberOfTuples\": 0}", "numberOfTuples"},
    {L0007, "{\"numberOfTuples\": 33}", "numberOfTuples"},
    {L0007, "{\"zeroPadding\": \"middle\"}", "zeroPadding"},
    {L0007, "{\"reverseObjectRoot\": 1}", "reverseObjectRoot"},
    {L0007, "{\"delimiter\": \"\"}", "delimiter"},
};

static void test_bad_configs(void)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ocfl_layout *l = NULL;
        struct ocfl_err err = {0};
        int r = ocfl_layout_new(bad[i].layout, bad[i].config, &l, &err);
        CHECK_AT_(r == -EINVAL && l == NULL && strstr(err.msg, bad[i].param), bad[i].param,
                  "bad config %zu: got %d '%s'", i, r, err.msg);
        ocfl_layout_free(l);
    }
    struct ocfl_layout *l = NULL;
    struct ocfl_err err = {0};
    CHECK_INT(ocfl_layout_new("0001-unknown-layout", NULL, &l, &err), -ENOTSUP);
    CHECK(strstr(err.msg, "0001-unknown-layout") != NULL);
    CHECK_INT(ocfl_layout_new(NULL, NULL, &l, &err), -ENOTSUP);
    CHECK(l == NULL);
    ocfl_layout_free(NULL);
}

/* The config a layout writes reads back to the same layout. */
static void test_config_round_trip(void)
{
    static const char *configs[][2] = {
        {L0002, NULL},
        {L0003, "{\"digestAlgorithm\": \"md5\", \"tupleSize\": 2, \"numberOfTuples\": 15}"},
        {L0004, NULL},
        {L0004, "{\"digestAlgorithm\": \"sha1\", \"tupleSize\": 1, \"numberOfTuples\": 2, "
                "\"shortObjectRoot\": true}"},
        {L0006, "{\"delimiter\": \"edu/\"}"},
        {L0007, "{\"delimiter\": \"edu/\", \"zeroPadding\": \"right\", \"tupleSize\": 2, "
                "\"reverseObjectRoot\": true}"},
    };
    const char *id = "https://institution.edu/abc/edu/f8.05v";

    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        struct ocfl_layout *a = NULL, *b = NULL;
        char *ja = NULL, *jb = NULL, *pa = NULL, *pb = NULL;
        CHECK_OK(ocfl_layout_new(configs[i][0], configs[i][1], &a, NULL));
        CHECK_STR(ocfl_layout_name(a), configs[i][0]);
        CHECK_OK(ocfl_layout_config_json(a, &ja, NULL));
        CHECK(ja && strstr(ja, configs[i][0]) && ja[strlen(ja) - 1] == '\n');
        CHECK_OK(ocfl_layout_new(configs[i][0], ja, &b, NULL));
        CHECK_OK(ocfl_layout_config_json(b, &jb, NULL));
        CHECK_STR(ja, jb);
        if (i != 0) {
            CHECK_OK(ocfl_layout_map(a, id, &pa, NULL));
            CHECK_OK(ocfl_layout_map(b, id, &pb, NULL));
            CHECK_STR(pa, pb);
        }
        free(ja);
        free(jb);
        free(pa);
        free(pb);
        ocfl_layout_free(a);
        ocfl_layout_free(b);
    }
    const char *const *names = ocfl_layout_names();
    size_t n = 0;
    while (names[n])
        n++;
    CHECK_INT(n, 5);
}

int main(void)
{
    test_examples();
    test_bad_configs();
    test_config_round_trip();
    return check_done();
}
