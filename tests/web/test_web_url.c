/* test_web_url.c: decoding and checking what a URL brings (web_url.h), and line diffs
 * (web_textdiff.h), with the cases a hostile client would try. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "web_textdiff.h"
#include "web_url.h"

static int decode(const char *in, int plus, char **out)
{
    *out = NULL;
    return web_url_decode(in, strlen(in), plus, out);
}

static void decodes_to(const char *in, const char *want)
{
    char *out;
    int r = decode(in, 1, &out);

    CHECK(r == 0);
    if (r == 0)
        CHECK_STR(out, want);
    free(out);
}

static void refused(const char *in, int code)
{
    char *out;

    CHECK(decode(in, 1, &out) == code);
    CHECK(out == NULL);
}

static char *diff(const char *a, const char *b, int *ret)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    *ret = web_textdiff(a, strlen(a), b, strlen(b), f);
    fclose(f);
    return out;
}

int main(void)
{
    char *s;
    int r;

    /* Host on a loopback listener: its own names only (DNS rebinding) */
    CHECK(web_host_ok("127.0.0.1:8080", "http://127.0.0.1:8080/"));
    CHECK(web_host_ok("localhost:8080", "http://127.0.0.1:8080/"));
    CHECK(web_host_ok("LocalHost:8080", "http://127.0.0.1:8080/"));
    CHECK(web_host_ok("[::1]:8080", "http://127.0.0.1:8080/"));
    CHECK(web_host_ok("[::1]:8080", "http://[::1]:8080/"));
    CHECK(web_host_ok("127.0.0.2:81", "http://127.0.0.2:81/"));
    CHECK(web_host_ok("localhost", "http://127.0.0.1:80/"));
    CHECK(!web_host_ok("localhost", "http://127.0.0.1:8080/"));
    CHECK(!web_host_ok("localhost:8081", "http://127.0.0.1:8080/"));
    CHECK(!web_host_ok("evil.example:8080", "http://127.0.0.1:8080/"));
    CHECK(!web_host_ok("evil.example", "http://127.0.0.1:80/"));
    CHECK(!web_host_ok("localhost.evil.example:8080", "http://127.0.0.1:8080/"));
    CHECK(!web_host_ok("localhost:8080x", "http://127.0.0.1:8080/"));
    CHECK(!web_host_ok("", "http://127.0.0.1:8080/"));
    CHECK(!web_host_ok(NULL, "http://127.0.0.1:8080/"));
    decodes_to("obj%2F1", "obj/1");
    decodes_to("a+b%20c", "a b c");
    decodes_to("%2e%2e", "..");
    decodes_to("caf%C3%A9", "caf\xc3\xa9");
    decodes_to("%F0%9F%98%80", "\xf0\x9f\x98\x80");
    decodes_to("", "");
    CHECK(decode("a+b", 0, &s) == 0 && !strcmp(s, "a+b"));
    free(s);
    refused("obj%00", -EINVAL);       /* an encoded NUL */
    refused("a%0Ab", -EINVAL);        /* a control character */
    refused("a%7Fb", -EINVAL);        /* DEL */
    refused("%zz", -EINVAL);          /* not hex */
    refused("%2", -EINVAL);           /* cut short */
    refused("%", -EINVAL);            /* cut shorter */
    refused("%ff", -EINVAL);          /* no UTF-8 */
    refused("%C0%AE", -EINVAL);       /* an overlong "." */
    refused("%E0%80%AE", -EINVAL);    /* another */
    refused("%ED%A0%80", -EINVAL);    /* a surrogate */
    refused("%F4%90%80%80", -EINVAL); /* past U+10FFFF */
    refused("%C3", -EINVAL);          /* a sequence cut short */
    {
        char big[WEB_VALUE_MAX + 2];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        refused(big, -E2BIG);
        big[WEB_VALUE_MAX] = 0;
        decodes_to(big, big);
    }

    CHECK(web_object_path_ok("d9e/a11/bfd/obj", NULL));
    CHECK(web_object_path_ok("a", "state"));
    CHECK(!web_object_path_ok("", NULL));
    CHECK(!web_object_path_ok("/etc", NULL));
    CHECK(!web_object_path_ok("..", NULL));
    CHECK(!web_object_path_ok("a/../b", NULL));
    CHECK(!web_object_path_ok("a/./b", NULL));
    CHECK(!web_object_path_ok("a//b", NULL));
    CHECK(!web_object_path_ok("a/", NULL));
    CHECK(!web_object_path_ok("extensions", NULL));
    CHECK(!web_object_path_ok("extensions/ocflfs", NULL));
    CHECK(web_object_path_ok("extensionsx/a", NULL));
    CHECK(!web_object_path_ok("my/state/x", "my/state"));
    CHECK(web_object_path_ok("my/statex", "my/state/"));

    s = diff("a\nb\nc\n", "a\nb\nc\n", &r);
    CHECK(r == 0 && !strcmp(s, ""));
    free(s);
    s = diff("one\ntwo\nthree\n", "one\nTWO\nthree\nfour\n", &r);
    CHECK(r == 0);
    CHECK_STR(s, "@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n three\n+four\n");
    free(s);
    s = diff("", "new\n", &r);
    CHECK_STR(s, "@@ -1,0 +1,1 @@\n+new\n");
    free(s);
    s = diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n11\n12\n",
             &r);
    CHECK_STR(s, "@@ -3,7 +3,7 @@\n 3\n 4\n 5\n-6\n+six\n 7\n 8\n 9\n");
    free(s);
    return check_done();
}
