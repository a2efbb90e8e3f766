/* fuzz_inventory.c: libFuzzer target for the JSON parser and the inventory checker and serializer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json_diff.h"
#include "inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ocfl_report report = {0};
    struct ocfl_inventory *partial = NULL, *inv = NULL;
    struct ocfl_err err = {0};
    const char *buf = (const char *)data;
    const char *why;

    /* the inventory's own JSON parser accepts exactly what jansson accepts, with the same tree */
    if (json_diff(buf, size, &why) < 0)
        abort();

    if (ocfl_inventory_check(buf, size, "inventory.json", OCFL_SPEC_UNKNOWN, &report, &partial) ==
        0) {
        /* every finding is well formed */
        for (size_t i = 0; i < report.n; i++)
            if (!report.items[i].message || !report.items[i].path ||
                strlen(report.items[i].code) != 4)
                abort();
        if (partial) {
            char *out = NULL;
            size_t len = 0;
            /* a partial inventory may lack required fields; serialize must not crash */
            if (ocfl_inventory_serialize(partial, &out, &len, NULL) == 0)
                free(out);
            (void)ocfl_inventory_head(partial);
            (void)ocfl_inventory_fixity_lookup(partial, "md5", "v1/content/a");
            (void)ocfl_inventory_content_digest(partial, "v1/content/a");
        }
    }

    if (ocfl_inventory_parse(buf, size, &inv, &err) == 0) {
        char *out = NULL, *out2 = NULL;
        size_t len = 0, len2 = 0;
        struct ocfl_inventory *again = NULL;

        /* the strict parser and the checker agree: no errors */
        if (report.n_errors)
            abort();
        if (ocfl_inventory_serialize(inv, &out, &len, NULL) != 0)
            abort();
        /* what was accepted serializes to bytes that parse and serialize the same */
        if (ocfl_inventory_parse(out, len, &again, &err) != 0)
            abort();
        if (ocfl_inventory_serialize(again, &out2, &len2, NULL) != 0 || len != len2 ||
            memcmp(out, out2, len))
            abort();
        free(out);
        free(out2);
        ocfl_inventory_free(again);
        ocfl_inventory_free(inv);
    } else if (!report.n_errors && !report.oom) {
        abort(); /* the strict parser failed where the checker found no error */
    }
    ocfl_inventory_free(partial);
    ocfl_report_release(&report);
    return 0;
}
