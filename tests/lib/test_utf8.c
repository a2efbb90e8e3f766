/* test_utf8.c: cutting UTF-8 on a character boundary (utf8.h, and error messages cut so),
 * and JSON strings of text that is not UTF-8. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "utf8.h"

int main(void)
{
    /* "aé" is 61 C3 A9: a cut at 2 would end inside é */
    CHECK_INT(ocfl_utf8_prefix("a\xc3\xa9", 2), 1);
    CHECK_INT(ocfl_utf8_prefix("a\xc3\xa9", 3), 3);
    CHECK_INT(ocfl_utf8_prefix("a\xc3\xa9", 40), 3);
    CHECK_INT(ocfl_utf8_prefix("a\xc3\xa9z", 3), 3);
    CHECK_INT(ocfl_utf8_prefix("\xf0\x9f\x98\x80", 3), 0);
    CHECK_INT(ocfl_utf8_prefix("\xf0\x9f\x98\x80!", 4), 4);
    CHECK_INT(ocfl_utf8_prefix("abc", 0), 0);
    CHECK_INT(ocfl_utf8_prefix("\x80\x80\x80\x80\x80", 4), 4); /* no lead byte: as asked */

    /* an error message of é characters cut at its end stays UTF-8, and JSON takes it */
    {
        char id[1301];
        struct ocfl_err err = {0};
        json_t *j;
        for (size_t i = 0; i < 1300; i += 2)
            memcpy(id + i, "\xc3\xa9", 2);
        id[1300] = 0;
        for (int lead = 0; lead < 2; lead++) {
            ocfl_err_set(&err, -ENOENT, "%sno object '%s'", lead ? "x" : "", id);
            CHECK(strlen(err.msg) < sizeof(err.msg));
            CHECK(!strcmp(err.msg + strlen(err.msg) - 3, "..."));
            CHECK((j = json_string(err.msg)) != NULL);
            json_decref(j);
            ocfl_err_sys(&err, -ENOENT, "%sno object '%s'", lead ? "x" : "", id);
            CHECK((j = json_string(err.msg)) != NULL);
            json_decref(j);
            ocfl_err_set(&err, -ENOENT, "%s", "cause");
            ocfl_err_prefix(&err, "%s%s", lead ? "x" : "", id);
            CHECK((j = json_string(err.msg)) != NULL);
            json_decref(j);
        }
    }

    /* text that is not UTF-8 becomes U+FFFD, byte by byte; valid text stays */
    {
        json_t *j = ocfl_json_string_lossy("ok \xc3");
        CHECK(j && !strcmp(json_string_value(j), "ok \xef\xbf\xbd"));
        json_decref(j);
        j = ocfl_json_string_lossy("\xc0\xae-\xed\xa0\x80-caf\xc3\xa9");
        CHECK(j && !strcmp(json_string_value(j), "\xef\xbf\xbd\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf"
                                                 "\xbd\xef\xbf\xbd-caf\xc3\xa9"));
        json_decref(j);
        j = ocfl_json_string_lossy(NULL);
        CHECK(json_is_null(j));
        json_decref(j);
    }
    return check_done();
}
