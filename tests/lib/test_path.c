/* test_path.c: logical/content path rules, UTF-8 edge cases, conflict detection. */
#include "check.h"
#include "path.h"

static int conflict(const char *const *p, size_t n, size_t *a, size_t *b)
{
    return ocfl_paths_find_conflict(p, n, a, b);
}

int main(void)
{
    /* the rules */
    CHECK_INT(ocfl_path_check("a"), OCFL_PATH_OK);
    CHECK_INT(ocfl_path_check("a/b/c.txt"), OCFL_PATH_OK);
    CHECK_INT(ocfl_path_check("..a/b.../.c"), OCFL_PATH_OK);
    CHECK_INT(ocfl_path_check("with space/é.txt"), OCFL_PATH_OK);
    CHECK_INT(ocfl_path_check(""), OCFL_PATH_EMPTY);
    CHECK_INT(ocfl_path_check(NULL), OCFL_PATH_EMPTY);
    CHECK_INT(ocfl_path_check("/a"), OCFL_PATH_SLASH);
    CHECK_INT(ocfl_path_check("a/"), OCFL_PATH_SLASH);
    CHECK_INT(ocfl_path_check("/"), OCFL_PATH_SLASH);
    CHECK_INT(ocfl_path_check("a//b"), OCFL_PATH_ELEMENT);
    CHECK_INT(ocfl_path_check("./a"), OCFL_PATH_ELEMENT);
    CHECK_INT(ocfl_path_check("a/./b"), OCFL_PATH_ELEMENT);
    CHECK_INT(ocfl_path_check("a/.."), OCFL_PATH_ELEMENT);
    CHECK_INT(ocfl_path_check(".."), OCFL_PATH_ELEMENT);
    CHECK_INT(ocfl_path_check("."), OCFL_PATH_ELEMENT);
    CHECK_INT(ocfl_path_check("a/\xff"), OCFL_PATH_ENCODING);

    /* UTF-8 */
    CHECK(ocfl_utf8_valid("", 0));
    CHECK(ocfl_utf8_valid("plain", 5));
    CHECK(ocfl_utf8_valid("\xc3\xa9", 2));          /* U+00E9 */
    CHECK(ocfl_utf8_valid("\xe2\x82\xac", 3));      /* U+20AC */
    CHECK(ocfl_utf8_valid("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
    CHECK(ocfl_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    CHECK(ocfl_utf8_valid("\xed\x9f\xbf", 3));      /* U+D7FF */
    CHECK(ocfl_utf8_valid("\xee\x80\x80", 3));      /* U+E000 */
    CHECK(!ocfl_utf8_valid("a\0b", 3));             /* NUL */
    CHECK(!ocfl_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    CHECK(!ocfl_utf8_valid("\xc1\xbf", 2));         /* overlong */
    CHECK(!ocfl_utf8_valid("\xe0\x80\xaf", 3));     /* overlong 3-byte */
    CHECK(!ocfl_utf8_valid("\xe0\x9f\xbf", 3));     /* overlong U+07FF */
    CHECK(!ocfl_utf8_valid("\xf0\x80\x80\xaf", 4)); /* overlong 4-byte */
    CHECK(!ocfl_utf8_valid("\xf0\x8f\xbf\xbf", 4)); /* overlong U+FFFF */
    CHECK(!ocfl_utf8_valid("\xed\xa0\x80", 3));     /* surrogate U+D800 */
    CHECK(!ocfl_utf8_valid("\xed\xbf\xbf", 3));     /* surrogate U+DFFF */
    CHECK(!ocfl_utf8_valid("\xf4\x90\x80\x80", 4)); /* U+110000 */
    CHECK(!ocfl_utf8_valid("\xf5\x80\x80\x80", 4)); /* lead beyond F4 */
    CHECK(!ocfl_utf8_valid("\x80", 1));             /* lone continuation */
    CHECK(!ocfl_utf8_valid("\xc3", 1));             /* truncated */
    CHECK(!ocfl_utf8_valid("\xe2\x82", 2));         /* truncated */
    CHECK(!ocfl_utf8_valid("\xe2\x82\xac", 2));     /* length cuts the sequence */
    CHECK(!ocfl_utf8_valid("\xc3\x28", 2));         /* bad continuation */
    CHECK(!ocfl_utf8_valid("\xfe", 1));
    CHECK(!ocfl_utf8_valid("\xff", 1));

    /* conflicts */
    {
        const char *p[] = {"a/b", "a/b/c"};
        size_t a = 9, b = 9;
        CHECK_INT(conflict(p, 2, &a, &b), 1);
        CHECK((a == 0 && b == 1) || (a == 1 && b == 0));
    }
    {
        const char *p[] = {"a/b", "a/bc"};
        CHECK_INT(conflict(p, 2, NULL, NULL), 0);
    }
    {
        /* strcmp puts "a/b-x" between "a/b" and "a/b/c"; the conflict is still found */
        const char *p[] = {"a/b/c", "a/b-x", "a/b"};
        size_t a = 9, b = 9;
        CHECK_INT(conflict(p, 3, &a, &b), 1);
        CHECK((a == 0 && b == 2) || (a == 2 && b == 0));
    }
    {
        const char *p[] = {"a/b-x", "a/b.y", "a/b/c", "a/b!"};
        CHECK_INT(conflict(p, 4, NULL, NULL), 0);
    }
    {
        const char *p[] = {"x", "y", "x"};
        size_t a = 9, b = 9;
        CHECK_INT(conflict(p, 3, &a, &b), 1);
        CHECK((a == 0 && b == 2) || (a == 2 && b == 0));
    }
    {
        const char *p[] = {"dir/file", "dir/sub/file", "dir2/dir/file", "dir"};
        CHECK_INT(conflict(p, 4, NULL, NULL), 1);
    }
    {
        const char *p[] = {"a"};
        CHECK_INT(conflict(p, 1, NULL, NULL), 0);
        CHECK_INT(conflict(p, 0, NULL, NULL), 0);
    }
    {
        /* bytes above 0x7f and below '/' */
        const char *p[] = {"a/b\xc3\xa9", "a/b\x01", "a/b", "a/b c/d"};
        CHECK_INT(conflict(p, 4, NULL, NULL), 0);
    }
    return check_done();
}
