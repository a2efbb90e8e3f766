/* fuzz_web_url.c: libFuzzer target for what a URL brings to the web view: percent-decoding,
 * the object path check, and the line diff of two texts (the input split at a \001). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_textdiff.h"
#include "web_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    const char *sep = memchr(buf, 1, size);
    char *out = NULL, *diff = NULL;
    size_t len = 0;

    for (int plus = 0; plus < 2; plus++) {
        int r = web_url_decode(buf, size, plus, &out);
        if (r == 0) {
            /* what is accepted is UTF-8 without NUL or control characters, and bounded */
            size_t n = strlen(out);
            if (n > WEB_VALUE_MAX || n > size || !web_utf8_valid(out, n))
                abort();
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)out[i] < 0x20 && out[i] != '\t')
                    abort();
            (void)web_object_path_ok(out, "state");
            free(out);
            out = NULL;
        } else if (out) {
            abort(); /* untouched on failure */
        }
    }
    if (sep && size < 65536) {
        FILE *f = open_memstream(&diff, &len);
        if (!f)
            return 0;
        web_textdiff(buf, (size_t)(sep - buf), sep + 1, size - (size_t)(sep - buf) - 1, f);
        fclose(f);
        free(diff);
    }
    return 0;
}
