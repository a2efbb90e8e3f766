/* test_report.c: findings are recorded, counted by severity and de-duplicated. */
#include "check.h"
#include "report.h"

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
    return check_done();
}
