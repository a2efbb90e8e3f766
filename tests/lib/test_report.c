/* test_report.c: findings are recorded, counted by severity and de-duplicated; findings by check
 * take the code of their spec version and merge across the inventories that repeat them. */
#include "check.h"
#include "report.h"

/* The code, the second code and the address come from the check and the spec version. */
static void by_check(void)
{
    struct ocfl_report r = {0};

    ocfl_report_check(&r, OCFL_CK_MANIFEST_NOT_OBJECT, OCFL_SPEC_1_0, "inventory.json", NULL,
                      "manifest is not an object");
    CHECK_INT(r.n, 1);
    CHECK_STR(r.items[0].code, "E041");
    CHECK_STR(r.items[0].url, "https://ocfl.io/1.0/spec/#E041");
    CHECK_INT(r.items[0].spec, OCFL_SPEC_1_0);
    ocfl_report_check(&r, OCFL_CK_MANIFEST_NOT_OBJECT, OCFL_SPEC_1_1, "x/inventory.json", NULL,
                      "manifest is not an object");
    CHECK_STR(r.items[1].code, "E106");
    CHECK_STR(r.items[1].url, "https://ocfl.io/1.1/spec/#E106");
    /* 1.0 has no rule that every manifest digest be used: nothing is recorded */
    ocfl_report_check(&r, OCFL_CK_MANIFEST_UNUSED, OCFL_SPEC_1_0, "inventory.json", NULL,
                      "digest not used");
    CHECK_INT(r.n, 2);
    CHECK(!ocfl_report_has(&r, "E107"));
    /* the exact rule and the code the fixtures expect, with one message */
    ocfl_report_check(&r, OCFL_CK_CDIR_CHANGED, OCFL_SPEC_1_1, NULL, "v1/inventory.json",
                      "contentDirectory changed");
    CHECK_INT(r.n, 4);
    CHECK_STR(r.items[2].code, "E020");
    CHECK_STR(r.items[3].code, "E019");
    CHECK_STR(r.items[3].message, "contentDirectory changed");
    CHECK_INT(r.items[3].n_inventories, 0);
    /* an unknown spec gives the latest list's code and address */
    ocfl_report_check(&r, OCFL_CK_ID_CHANGED, OCFL_SPEC_UNKNOWN, NULL, "v2/inventory.json", "id");
    CHECK_STR(r.items[4].code, "E110");
    CHECK_STR(r.items[4].url, "https://ocfl.io/1.1/spec/#E110");
    CHECK_STR(r.items[5].code, "E037");
    CHECK_INT(r.n_errors, 6);
    /* a plain finding keeps no address */
    ocfl_report_add(&r, "W010", "v3", "no inventory");
    CHECK_STR(r.items[6].url, "");
    ocfl_report_release(&r);
}

/* One problem, however many inventories repeat it. */
static void merged(void)
{
    struct ocfl_report r = {0};
    static const char *const invs[] = {"inventory.json", "v1/inventory.json", "v2/inventory.json",
                                       "v3/inventory.json"};

    for (int i = 0; i < 4; i++)
        ocfl_report_check(&r, OCFL_CK_VERSION_NO_META, OCFL_SPEC_1_1, invs[i], NULL,
                          "version '%s' has no user", "v1");
    CHECK_INT(r.n, 1);
    CHECK_INT(r.n_warnings, 1);
    CHECK_STR(r.items[0].path, "inventory.json");
    CHECK_INT(r.items[0].n_inventories, 4);
    CHECK_STR(r.items[0].inventories[3], "v3/inventory.json");
    /* the same inventory again adds nothing; another problem in it is another finding */
    ocfl_report_check(&r, OCFL_CK_VERSION_NO_META, OCFL_SPEC_1_1, "v2/inventory.json", NULL,
                      "version 'v1' has no user");
    CHECK_INT(r.items[0].n_inventories, 4);
    ocfl_report_check(&r, OCFL_CK_VERSION_NO_META, OCFL_SPEC_1_1, "v2/inventory.json", NULL,
                      "version 'v2' has no message");
    CHECK_INT(r.n, 2);
    CHECK_STR(r.items[1].path, "v2/inventory.json");
    /* about a content path: one finding per code and path, listing the inventories */
    ocfl_report_check(&r, OCFL_CK_FIXITY_MISMATCH, OCFL_SPEC_1_1, "v1/inventory.json",
                      "v1/content/a", "md5 differs");
    ocfl_report_check(&r, OCFL_CK_FIXITY_MISMATCH, OCFL_SPEC_1_1, "inventory.json", "v1/content/a",
                      "md5 differs (another value)");
    CHECK_INT(r.n, 3);
    CHECK_STR(r.items[2].path, "v1/content/a");
    CHECK_STR(r.items[2].message, "md5 differs");
    CHECK_INT(r.items[2].n_inventories, 2);
    CHECK_STR(r.items[2].inventories[1], "inventory.json");
    /* a plain finding with the code and path of one about an inventory is the same finding */
    ocfl_report_add(&r, "W007", "inventory.json", "said again");
    CHECK_INT(r.n, 3);
    CHECK(!r.oom);
    ocfl_report_release(&r);
}

/* Many distinct findings: all kept, each once (the index finds the repeats). */
static void many(void)
{
    struct ocfl_report r = {0};
    char path[64];

    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 20000; i++) {
            snprintf(path, sizeof(path), "v1/content/f%d", i);
            ocfl_report_check(&r, OCFL_CK_CONTENT_MISSING, OCFL_SPEC_1_1,
                              round ? "v1/inventory.json" : "inventory.json", path,
                              "'%s' does not exist", path);
        }
    CHECK_INT(r.n, 20000);
    CHECK_INT(r.n_errors, 20000);
    CHECK_INT(r.items[19999].n_inventories, 2);
    CHECK_STR(r.items[19999].path, "v1/content/f19999");
    ocfl_report_release(&r);
}

int main(void)
{
    struct ocfl_report r;

    ocfl_report_init(&r);
    CHECK_INT(r.n, 0);
    CHECK(!ocfl_report_has(&r, "E040"));
    ocfl_report_add(&r, "E040", "inventory.json", "head '%s' is wrong", "v9");
    ocfl_report_add(&r, "W004", NULL, "sha256");
    ocfl_report_add(&r, "E040", "inventory.json", "second time, dropped");
    ocfl_report_add(&r, "E040", "v1/inventory.json", "other path, kept");
    CHECK_INT(r.n, 3);
    CHECK_INT(r.n_errors, 2);
    CHECK_INT(r.n_warnings, 1);
    CHECK(ocfl_report_has(&r, "E040"));
    CHECK(ocfl_report_has(&r, "W004"));
    CHECK(!ocfl_report_has(&r, "E041"));
    CHECK_STR(r.items[0].code, "E040");
    CHECK_INT(r.items[0].severity, OCFL_ERROR);
    CHECK_STR(r.items[0].message, "head 'v9' is wrong");
    CHECK_STR(r.items[0].path, "inventory.json");
    CHECK_INT(r.items[1].severity, OCFL_WARNING);
    CHECK_STR(r.items[1].path, "");
    CHECK_STR(r.items[2].path, "v1/inventory.json");
    CHECK(!r.oom);

    /* many findings grow the list */
    for (int i = 0; i < 100; i++) {
        char p[32];
        snprintf(p, sizeof(p), "f%d", i);
        ocfl_report_add(&r, "E023", p, "extra file %d", i);
    }
    CHECK_INT(r.n, 103);
    CHECK_STR(r.items[102].message, "extra file 99");

    ocfl_report_release(&r);
    CHECK_INT(r.n, 0);
    CHECK(r.items == NULL);
    ocfl_report_release(NULL);
    by_check();
    merged();
    many();
    return check_done();
}
