/* test_inventory.c: inventories of the official fixtures, hand-made bad ones, round trips, lookups.
 */
#include "check.h"
#include "inventory.h"

#include <dirent.h>
#include <errno.h>
#include <time.h>

static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)len + 1);
        if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
        if (buf) {
            buf[len] = '\0';
            *ret_len = (size_t)len;
        }
    }
    fclose(f);
    return buf;
}

/* Parse strictly, serialize, parse again, serialize again: the bytes are stable. */
static void round_trip(const char *name, const char *buf, size_t len)
{
    struct ocfl_inventory *inv = NULL, *again = NULL, *copy = NULL;
    struct ocfl_err err = {0};
    char *out1 = NULL, *out2 = NULL, *out3 = NULL;
    size_t n1 = 0, n2 = 0, n3 = 0;
    int r = ocfl_inventory_parse(buf, len, &inv, &err);

    CHECK_AT_(r == 0, name, "parse: %s", err.msg);
    if (r)
        return;
    CHECK_OK(ocfl_inventory_serialize(inv, &out1, &n1, NULL));
    CHECK_OK(ocfl_inventory_parse(out1, n1, &again, &err));
    if (again)
        CHECK_OK(ocfl_inventory_serialize(again, &out2, &n2, NULL));
    CHECK_AT_(out2 && n1 == n2 && !memcmp(out1, out2, n1), name, "serialization not stable");
    CHECK(n1 > 0 && out1[n1 - 1] == '\n');
    copy = ocfl_inventory_dup(inv);
    CHECK(copy != NULL);
    if (copy)
        CHECK_OK(ocfl_inventory_serialize(copy, &out3, &n3, NULL));
    CHECK_AT_(out3 && n1 == n3 && !memcmp(out1, out3, n1), name, "dup differs");
    if (again) {
        CHECK_STR(again->id, inv->id);
        CHECK_INT(again->n_versions, inv->n_versions);
        CHECK_INT(again->n_manifest, inv->n_manifest);
        CHECK_INT(again->padding, inv->padding);
        CHECK_INT(again->spec, inv->spec);
    }
    free(out1);
    free(out2);
    free(out3);
    ocfl_inventory_free(inv);
    ocfl_inventory_free(again);
    ocfl_inventory_free(copy);
}

static void check_codes(const char *label, const char *buf, size_t len, const char *const *want,
                        int expect_errors)
{
    struct ocfl_report rep = {0};
    struct ocfl_inventory *partial = NULL;

    CHECK_OK(ocfl_inventory_check(buf, len, "inventory.json", OCFL_SPEC_UNKNOWN, &rep, &partial));
    for (size_t i = 0; want[i]; i++)
        CHECK_AT_(ocfl_report_has(&rep, want[i]), label, "code %s not reported", want[i]);
    if (!expect_errors) {
        CHECK_AT_(rep.n_errors == 0, label, "unexpected error %s: %s",
                  rep.n ? rep.items[0].code : "-", rep.n ? rep.items[0].message : "-");
    } else {
        struct ocfl_inventory *inv = NULL;
        struct ocfl_err err = {0};
        CHECK_AT_(rep.n_errors > 0, label, "no error reported");
        CHECK_INT(ocfl_inventory_parse(buf, len, &inv, &err), -EBADMSG);
        CHECK(inv == NULL && strstr(err.msg, "invalid inventory") != NULL);
    }
    ocfl_inventory_free(partial);
    ocfl_report_release(&rep);
}

static void fixture_dir(const char *shared, const char *spec, const char *kind)
{
    char dir[4096];
    struct dirent **names = NULL;
    int n;

    snprintf(dir, sizeof(dir), "%s/ocfl/fixtures/%s/%s", shared, spec, kind);
    n = scandir(dir, &names, NULL, alphasort);
    CHECK_AT_(n > 2, dir, "cannot list fixtures");
    for (int i = 0; i < n; i++) {
        char path[8192], *buf;
        size_t len = 0;

        if (names[i]->d_name[0] == '.') {
            free(names[i]);
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s/inventory.json", dir, names[i]->d_name);
        buf = read_file(path, &len);
        if (buf && !strcmp(kind, "good-objects")) {
            const char *none[] = {NULL};
            round_trip(path, buf, len);
            check_codes(path, buf, len, none, 0);
        } else if (buf && !strcmp(kind, "warn-objects")) {
            /* the W codes the inventory alone decides; the dir name lists them */
            const char *mine[] = {"W001", "W004", "W005", "W007", "W008", "W009"};
            const char *want[8] = {NULL};
            size_t k = 0;
            for (size_t j = 0; j < 6; j++)
                if (strstr(names[i]->d_name, mine[j]) &&
                    strcmp(names[i]->d_name, "W004_versions_diff_digests"))
                    want[k++] = mine[j];
            check_codes(path, buf, len, want, 0);
            round_trip(path, buf, len);
        }
        free(buf);
        free(names[i]);
    }
    free(names);
}

/* Bad fixtures whose root inventory alone shows the error, and the code it must give. */
static const struct {
    const char *dir, *code;
} bad_fixtures[] = {
    {"E008_E036_no_versions_no_head", "E008"},
    {"E008_E036_no_versions_no_head", "E036"},
    {"E010_skipped_versions", "E010"},
    {"E011_E013_invalid_padded_head_version", "E011"},
    {"E011_E013_invalid_padded_head_version", "E013"},
    /* the inventory of these two names content paths outside the content directory: E042
     * (the fixture's own code comes from the object: the file on disk, the other inventory) */
    {"E015_content_not_in_content_dir", "E042"},
    {"E017_invalid_content_dir", "E017"},
    {"E019_inconsistent_content_dir", "E042"},
    {"E025_wrong_digest_algorithm", "E025"},
    {"E036_no_head", "E036"},
    {"E036_no_id", "E036"},
    {"E040_head_not_most_recent", "E040"},
    {"E040_wrong_head_doesnt_exist", "E040"},
    {"E040_wrong_head_format", "E040"},
    {"E041_no_manifest", "E041"},
    {"E049_E050_E054_bad_version_block_values", "E049"},
    {"E049_E050_E054_bad_version_block_values", "E050"},
    {"E049_E050_E054_bad_version_block_values", "E054"},
    {"E049_E050_E054_bad_version_block_values", "E094"},
    {"E049_created_no_timezone", "E049"},
    {"E049_created_not_to_seconds", "E049"},
    {"E050_manifest_digest_wrong_case", "E050"},
    {"E050_state_digest_not_in_manifest", "E050"},
    {"E053_E052_invalid_logical_paths", "E052"},
    {"E053_E052_invalid_logical_paths", "E053"},
    {"E095_conflicting_logical_paths", "E095"},
    {"E095_non_unique_logical_paths", "E095"},
    {"E096_manifest_duplicate_digests", "E096"},
    {"E097_fixity_duplicate_digests", "E097"},
    {"E100_E099_fixity_invalid_content_paths", "E099"},
    {"E100_E099_fixity_invalid_content_paths", "E100"},
    {"E100_E099_manifest_invalid_content_paths", "E099"},
    {"E100_E099_manifest_invalid_content_paths", "E100"},
    {"E101_non_unique_content_paths", "E101"},
    {"E107_file_in_manifest_not_used", "E107"},
};

static void bad_fixtures_check(const char *shared)
{
    for (size_t i = 0; i < sizeof(bad_fixtures) / sizeof(bad_fixtures[0]); i++) {
        char path[4096], label[4200], *buf;
        const char *want[] = {bad_fixtures[i].code, NULL};
        size_t len = 0;

        snprintf(path, sizeof(path), "%s/ocfl/fixtures/1.1/bad-objects/%s/inventory.json", shared,
                 bad_fixtures[i].dir);
        snprintf(label, sizeof(label), "%s gives %s", bad_fixtures[i].dir, bad_fixtures[i].code);
        buf = read_file(path, &len);
        CHECK_AT_(buf != NULL, label, "cannot read %s", path);
        if (buf)
            check_codes(label, buf, len, want, 1);
        free(buf);
    }
}

#define D                                                                                          \
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877e" \
    "e"                                                                                            \
    "c2f63b931bd47417a81a538327af927da3e"
#define HEAD_                                                                                      \
    "\"id\":\"urn:x\",\"type\":\"https://ocfl.io/1.1/spec/#inventory\",\"digestAlgorithm\":"       \
    "\"sha512\","
#define MAN_  "\"manifest\":{\"" D "\":[\"v1/content/a\"]},"
#define USER_ "\"message\":\"m\",\"user\":{\"name\":\"n\",\"address\":\"mailto:n@x\"}"
#define V1_   "\"v1\":{\"created\":\"2020-01-01T00:00:00Z\",\"state\":{\"" D "\":[\"a\"]}," USER_ "}"
#define GOOD_ "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"versions\":{" V1_ "}}"

static const struct {
    const char *label, *json, *code;
    int errors;
} cases[] = {
    {"good", GOOD_, NULL, 0},
    {"duplicate key", "{" HEAD_ "\"head\":\"v1\",\"head\":\"v1\"," MAN_ "\"versions\":{" V1_ "}}",
     "E033", 1},
    {"truncated", "{" HEAD_ "\"head\":\"v1\"," MAN_, "E033", 1},
    {"empty", "", "E033", 1},
    {"invalid utf-8", "{\"id\":\"\xff\"}", "E033", 1},
    {"escaped nul", "{" HEAD_ "\"head\":\"v1\",\"x\\u0000\":1}", "E033", 1},
    {"array", "[1,2]", "E033", 1}, /* the JSON structure (E034 is the file's name) */
    {"unknown key", "{" HEAD_ "\"head\":\"v1\",\"extra\":1," MAN_ "\"versions\":{" V1_ "}}", "E102",
     1},
    {"huge number",
     "{" HEAD_ "\"head\":\"v1\",\"n\":123456789012345678901234567890," MAN_ "\"versions\":{" V1_
     "}}",
     "E102", 1},
    {"id not string",
     "{\"id\":5,\"type\":\"https://ocfl.io/1.1/spec/#inventory\","
     "\"digestAlgorithm\":\"sha512\",\"head\":\"v1\"," MAN_ "\"versions\":{" V1_ "}}",
     "E037", 1},
    {"bad type",
     "{\"id\":\"urn:x\",\"type\":\"https://ocfl.io/9.9/spec/#inventory\","
     "\"digestAlgorithm\":\"sha512\",\"head\":\"v1\"," MAN_ "\"versions\":{" V1_ "}}",
     "E038", 1},
    {"md5 content",
     "{\"id\":\"urn:x\",\"type\":\"https://ocfl.io/1.1/spec/#inventory\","
     "\"digestAlgorithm\":\"md5\",\"head\":\"v1\"," MAN_ "\"versions\":{" V1_ "}}",
     "E025", 1},
    {"wrong digest length",
     "{" HEAD_ "\"head\":\"v1\",\"manifest\":{\"abc\":[\"v1/content/a\"]},"
     "\"versions\":{\"v1\":{\"created\":\"2020-01-01T00:00:00Z\","
     "\"state\":{\"abc\":[\"a\"]}," USER_ "}}}",
     "E039", 1},
    {"manifest array",
     "{" HEAD_ "\"head\":\"v1\",\"manifest\":[],"
     "\"versions\":{" V1_ "}}",
     "E106", 1},
    {"no versions", "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"x\":1}", "E043", 1},
    /* E044 is the key versions, E045 that its value be an object */
    {"versions array", "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"versions\":[]}", "E045", 1},
    {"version 0", "{" HEAD_ "\"head\":\"v0\"," MAN_ "\"versions\":{\"v0\":{}}}", "E105", 1},
    {"version name", "{" HEAD_ "\"head\":\"1\"," MAN_ "\"versions\":{\"1\":{}}}", "E104", 1},
    {"huge version",
     "{" HEAD_ "\"head\":\"v99999999999999999999999\"," MAN_
     "\"versions\":{\"v99999999999999999999999\":{}}}",
     "E105", 1},
    {"starts at 2",
     "{" HEAD_ "\"head\":\"v2\"," MAN_ "\"versions\":{\"v2\":{\"created\":\"2020-01-01T00:00:00Z\","
     "\"state\":{\"" D "\":[\"a\"]}," USER_ "}}}",
     "E009", 1},
    {"mixed padding",
     "{" HEAD_ "\"head\":\"v02\"," MAN_ "\"versions\":{" V1_
     ",\"v02\":{\"created\":\"2020-01-01T00:00:00Z\",\"state\":{}," USER_ "}}}",
     "E012", 1},
    {"version not object", "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"versions\":{\"v1\":7}}", "E047", 1},
    {"no created",
     "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"versions\":{\"v1\":{\"state\":{\"" D "\":[\"a\"]}," USER_
     "}}}",
     "E048", 1},
    {"created date only",
     "{" HEAD_ "\"head\":\"v1\"," MAN_
     "\"versions\":{\"v1\":{\"created\":\"2020-01-01\",\"state\":{\"" D "\":[\"a\"]}," USER_ "}}}",
     "E049", 1},
    {"created bad month",
     "{" HEAD_ "\"head\":\"v1\"," MAN_
     "\"versions\":{\"v1\":{\"created\":\"2020-13-01T00:00:00+01:00\","
     "\"state\":{\"" D "\":[\"a\"]}," USER_ "}}}",
     "E049", 1},
    {"state path not string",
     "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"versions\":{\"v1\":{\"created\":\"2020-01-01T00:00:00Z\","
     "\"state\":{\"" D "\":[\"a\",7]}," USER_ "}}}",
     "E050", 1},
    {"message number",
     "{" HEAD_ "\"head\":\"v1\"," MAN_
     "\"versions\":{\"v1\":{\"created\":\"2020-01-01T00:00:00Z\",\"state\":{\"" D
     "\":[\"a\"]},\"message\":1,\"user\":{\"name\":\"n\",\"address\":\"mailto:x\"}"
     "}}}",
     "E094", 1},
    {"user no name",
     "{" HEAD_ "\"head\":\"v1\"," MAN_
     "\"versions\":{\"v1\":{\"created\":\"2020-01-01T00:00:00Z\",\"state\":{\"" D
     "\":[\"a\"]},\"message\":\"m\",\"user\":{\"address\":\"mailto:x\"}}}}",
     "E054", 1},
    {"user key",
     "{" HEAD_ "\"head\":\"v1\"," MAN_
     "\"versions\":{\"v1\":{\"created\":\"2020-01-01T00:00:00Z\",\"state\":{\"" D
     "\":[\"a\"]},\"message\":\"m\",\"user\":{\"name\":\"n\",\"email\":\"x\"}}}}",
     "E102", 1},
    {"no address",
     "{" HEAD_ "\"head\":\"v1\"," MAN_
     "\"versions\":{\"v1\":{\"created\":\"2020-01-01T00:00:00Z\",\"state\":{\"" D
     "\":[\"a\"]},\"message\":\"m\",\"user\":{\"name\":\"n\"}}}}",
     "W008", 0},
    {"no message",
     "{" HEAD_ "\"head\":\"v1\"," MAN_
     "\"versions\":{\"v1\":{\"created\":\"2020-01-01T00:00:00.5-05:00\",\"state\":{\"" D
     "\":[\"a\"]}}}}",
     "W007", 0},
    {"content dir dot-dot",
     "{" HEAD_ "\"head\":\"v1\",\"contentDirectory\":\"..\"," MAN_ "\"versions\":{" V1_ "}}",
     "E018", 1},
    {"content dir slash",
     "{" HEAD_ "\"head\":\"v1\",\"contentDirectory\":\"a/b\"," MAN_ "\"versions\":{" V1_ "}}",
     "E108", 1},
    {"content path outside versions",
     "{" HEAD_ "\"head\":\"v1\",\"manifest\":{\"" D "\":[\"v2/content/a\"]},\"versions\":{" V1_
     "}}",
     "E042", 1},
    {"content path dot-dot",
     "{" HEAD_ "\"head\":\"v1\",\"manifest\":{\"" D "\":[\"v1/content/../../etc/passwd\"]},"
     "\"versions\":{" V1_ "}}",
     "E099", 1},
    /* OCFL sets no length limit: a content path past PATH_MAX is no finding of the inventory */
    {"content path of 5,000 bytes and more",
     "{" HEAD_ "\"head\":\"v1\",\"manifest\":{\"" D "\":[\"v1/content/"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "/%s\"]},\"versions\":{" V1_ "}}",
     NULL, 0},
    {"manifest value not array",
     "{" HEAD_ "\"head\":\"v1\",\"manifest\":{\"" D "\":\"v1/content/a\"},\"versions\":{" V1_ "}}",
     "E092", 1},
    {"fixity array", "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"versions\":{" V1_ "},\"fixity\":[]}",
     "E111", 1},
    {"fixity path not in manifest",
     "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"versions\":{" V1_
     "},\"fixity\":{\"md5\":{\"d41d8cd98f00b204e9800998ecf8427e\":[\"v1/content/b\"]}}}",
     "E057", 1},
    {"unknown fixity algorithm is fine",
     "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"versions\":{" V1_
     "},\"fixity\":{\"crc-99\":{\"1234\":[\"v1/content/a\"]}}}",
     NULL, 0},
    {"deep nesting", NULL, "E033", 1},
};

static void hand_made_cases(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *want[] = {cases[i].code, NULL};
        char *buf = NULL;
        size_t len;

        if (!cases[i].json) { /* 100,000 nested arrays: beyond jansson's depth limit */
            len = 200000;
            buf = malloc(len);
            memset(buf, '[', len / 2);
            memset(buf + len / 2, ']', len / 2);
        } else if (strstr(cases[i].json, "%s")) { /* a path element of 5000 bytes */
            char *long_el = malloc(5001);
            memset(long_el, 'y', 5000);
            long_el[5000] = '\0';
            len = (size_t)asprintf(&buf, cases[i].json, long_el);
            free(long_el);
        } else {
            buf = strdup(cases[i].json);
            len = strlen(buf);
        }
        check_codes(cases[i].label, buf, len, want, cases[i].errors);
        free(buf);
    }
    /* over the size bound: -EFBIG before any byte is read */
    {
        struct ocfl_inventory *inv = NULL;
        struct ocfl_report rep = {0};
        CHECK_INT(ocfl_inventory_parse("{}", (size_t)OCFL_INVENTORY_MAX_BYTES + 1, &inv, NULL),
                  -EFBIG);
        CHECK_OK(ocfl_inventory_check("{}", (size_t)OCFL_INVENTORY_MAX_BYTES + 1, "x",
                                      OCFL_SPEC_UNKNOWN, &rep, &inv));
        CHECK(ocfl_report_has(&rep, "E033") && inv == NULL);
        ocfl_report_release(&rep);
    }
    /* a partial inventory keeps what is usable */
    {
        const char *j = "{" HEAD_ "\"head\":\"v3\"," MAN_ "\"versions\":{" V1_
                        ",\"v2\":5,\"v3\":{\"created\":\"2020-01-01T00:00:00Z\",\"state\":{}}}}";
        struct ocfl_inventory *inv = NULL;
        struct ocfl_report rep = {0};
        CHECK_OK(
            ocfl_inventory_check(j, strlen(j), "inventory.json", OCFL_SPEC_UNKNOWN, &rep, &inv));
        CHECK(inv != NULL);
        if (inv) {
            CHECK_INT(inv->n_versions, 1);
            CHECK_STR(inv->id, "urn:x");
            CHECK_STR(inv->head, "v3");
        }
        CHECK(ocfl_report_has(&rep, "E047"));
        CHECK_STR(rep.items[0].path, "inventory.json");
        ocfl_inventory_free(inv);
        ocfl_report_release(&rep);
    }
    /* escaping survives a round trip */
    {
        const char *j = "{" HEAD_ "\"head\":\"v1\"," MAN_ "\"versions\":{\"v1\":{\"created\":"
                        "\"2020-01-01T00:00:00Z\",\"state\":{\"" D "\":[\"q\\\"uo\\\\te\\n\\u0001"
                        "\xc3\xa9\xf0\x9f\x98\x80\"]},\"message\":\"tab\\there\","
                        "\"user\":{\"name\":\"n\\u001f\\r\\b\\f/\",\"address\":\"m:x\"}}}}";
        struct ocfl_inventory *inv = NULL;
        CHECK_OK(ocfl_inventory_parse(j, strlen(j), &inv, NULL));
        if (inv) {
            CHECK_STR(inv->versions[0].state[0].logical_path,
                      "q\"uo\\te\n\x01\xc3\xa9\xf0\x9f\x98\x80");
            CHECK_STR(inv->versions[0].message, "tab\there");
            CHECK_STR(inv->versions[0].user_name, "n\x1f\r\b\f/");
            ocfl_inventory_free(inv);
        }
        round_trip("escaping", j, strlen(j));
    }
}

static void lookups(const char *shared)
{
    char path[4096], name[16];
    struct ocfl_inventory *inv = NULL;
    const struct ocfl_version *v;
    const struct ocfl_state_entry *se;
    const struct ocfl_manifest_entry *me;
    size_t len = 0;
    char *buf;

    snprintf(path, sizeof(path), "%s/ocfl/fixtures/1.1/good-objects/spec-ex-full/inventory.json",
             shared);
    buf = read_file(path, &len);
    CHECK(buf != NULL);
    if (!buf)
        return;
    CHECK_OK(ocfl_inventory_parse(buf, len, &inv, NULL));
    free(buf);
    if (!inv)
        return;
    CHECK_INT(inv->spec, OCFL_SPEC_1_1);
    CHECK_STR(ocfl_spec_number(inv->spec), "1.1");
    CHECK_INT(inv->n_versions, 3);
    CHECK_INT(ocfl_inventory_head(inv)->num, 3);
    CHECK(ocfl_inventory_version(inv, 4) == NULL && ocfl_inventory_version(inv, 0) == NULL);
    v = ocfl_inventory_version(inv, 2);
    CHECK_STR(v->message, "Fix bar.xml, remove image.tiff, add empty2.txt");
    CHECK_STR(v->user_name, "Bob");
    CHECK_STR(v->user_address, "mailto:bob@example.com");
    se = ocfl_version_lookup(v, "empty2.txt");
    CHECK(se && !strncmp(se->digest, "cf83e135", 8));
    CHECK(ocfl_version_lookup(v, "image.tiff") == NULL);
    me = ocfl_inventory_manifest_lookup(inv, "FFCCF6BAA21809716F31563FAFB9F333C09C336BB7400088F17E4"
                                             "FF307F98FC9B14A577F92F3285913B7F53A6D5CF004503CF839"
                                             "AADA1C885AC69336CBFB862E");
    CHECK(me && me->n_paths == 1);
    CHECK_STR(ocfl_inventory_content_path(inv, se->digest), "v1/content/empty.txt");
    CHECK(ocfl_inventory_manifest_lookup(inv, "00") == NULL);
    CHECK_STR(ocfl_inventory_content_digest(inv, "v1/content/image.tiff"), me->digest);
    CHECK(ocfl_inventory_content_digest(inv, "v1/content/nope") == NULL);
    CHECK_STR(ocfl_inventory_fixity_lookup(inv, "md5", "v1/content/foo/bar.xml"),
              "184f84e28cbe75e050e9c25ea7f2e939");
    CHECK_STR(ocfl_inventory_fixity_lookup(inv, "sha1", "v2/content/foo/bar.xml"),
              "a6357c99ecc5752931e133227581e914968f3b9c");
    CHECK(ocfl_inventory_fixity_lookup(inv, "sha256", "v1/content/foo/bar.xml") == NULL);
    CHECK(ocfl_inventory_fixity_lookup(inv, "md5", "v9/content/x") == NULL);
    CHECK_STR(ocfl_inventory_content_dir(inv), "content");
    CHECK_OK(ocfl_inventory_version_name(inv, 12, name, sizeof(name)));
    CHECK_STR(name, "v12");
    inv->padding = 3;
    CHECK_OK(ocfl_inventory_version_name(inv, 12, name, sizeof(name)));
    CHECK_STR(name, "v012");
    CHECK_INT(ocfl_inventory_version_name(inv, 1000, name, sizeof(name)), -ERANGE);
    CHECK_INT(ocfl_inventory_version_name(inv, 1, name, 3), -ENAMETOOLONG);
    inv->padding = 0;
    /* without an index, lookups scan */
    {
        struct ocfl_inventory_index *ix = inv->index;
        inv->index = NULL;
        CHECK_STR(ocfl_inventory_fixity_lookup(inv, "md5", "v1/content/foo/bar.xml"),
                  "184f84e28cbe75e050e9c25ea7f2e939");
        CHECK(ocfl_inventory_manifest_lookup(inv, me->digest) == me);
        inv->index = ix;
    }
    ocfl_inventory_free(inv);
    ocfl_inventory_free(NULL);
}

/* 100,000 files in one version: parse, look up each, serialize; report the time. */
static void big_inventory(void)
{
    const size_t n = 100000;
    size_t alloc = n * 400 + 1024, len = 0;
    char *buf = malloc(alloc), *out = NULL;
    struct ocfl_inventory *inv = NULL;
    struct timespec t0, t1, t2;
    size_t out_len = 0, found = 0;
    int r;

    CHECK(buf != NULL);
    if (!buf)
        return;
    len += (size_t)sprintf(buf + len, "{" HEAD_ "\"head\":\"v1\",\"manifest\":{");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(buf + len, "%s\"%0128zx\":[\"v1/content/d%zu/f%zu\"]", i ? "," : "",
                               i, i % 100, i);
    len += (size_t)sprintf(buf + len, "},\"versions\":{\"v1\":{\"created\":\"2020-01-01T00:00:00Z\""
                                      ",\"message\":\"m\",\"user\":{\"name\":\"n\",\"address\":"
                                      "\"mailto:n@x\"},\"state\":{");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(buf + len, "%s\"%0128zx\":[\"d%zu/f%zu\"]", i ? "," : "", i, i % 100,
                               i);
    len += (size_t)sprintf(buf + len, "}}}}");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = ocfl_inventory_parse(buf, len, &inv, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_OK(r);
    if (inv) {
        for (size_t i = 0; i < n; i++) {
            char lp[64], cp[96];
            const struct ocfl_state_entry *se;
            snprintf(lp, sizeof(lp), "d%zu/f%zu", i % 100, i);
            snprintf(cp, sizeof(cp), "v1/content/%s", lp);
            se = ocfl_version_lookup(&inv->versions[0], lp);
            if (se && ocfl_inventory_manifest_lookup(inv, se->digest) &&
                !strcmp(ocfl_inventory_content_path(inv, se->digest), cp) &&
                !strcmp(ocfl_inventory_content_digest(inv, cp), se->digest))
                found++;
        }
        clock_gettime(CLOCK_MONOTONIC, &t2);
        CHECK_INT(found, n);
        CHECK_OK(ocfl_inventory_serialize(inv, &out, &out_len, NULL));
        printf(
            "# 100,000 files: %zu bytes parsed and checked in %.3f s; %zu x 4 lookups in %.3f s\n",
            len, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, n,
            (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9);
    }
    free(out);
    free(buf);
    ocfl_inventory_free(inv);
}

int main(void)
{
    const char *shared = getenv("OCFL_SHARED");

    if (!shared || !*shared) {
        printf("Bail out! OCFL_SHARED is not set (run under meson test)\n");
        return 1;
    }
    fixture_dir(shared, "1.1", "good-objects");
    fixture_dir(shared, "1.0", "good-objects");
    fixture_dir(shared, "1.1", "warn-objects");
    fixture_dir(shared, "1.0", "warn-objects");
    bad_fixtures_check(shared);
    hand_made_cases();
    lookups(shared);
    big_inventory();
    return check_done();
}
