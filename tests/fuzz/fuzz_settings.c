/* fuzz_settings.c: libFuzzer target for configuration files (a root's lies in the root). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ocfl_settings *s = NULL;
    struct ocfl_err err = {0};
    char *text = malloc(size + 1);

    if (!text || ocfl_settings_new(&s) < 0) {
        free(text);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = 0; /* a file with a NUL is refused before parsing */
    if (ocfl_settings_load_text(s, text, "fuzz.conf", OCFL_SETTINGS_ROOT, &err) == 0) {
        /* what was taken reads back: every value passes its own check again */
        for (size_t i = 0; i < ocfl_settings_n_keys(); i++) {
            enum ocfl_settings_source src;
            const char *k = ocfl_settings_key(i), *v = ocfl_settings_get(s, k, &src, NULL);
            int codes[32];
            if (!v || ocfl_settings_check(k, v, src, NULL) < 0)
                abort();
            (void)ocfl_settings_ms(s, k);
            (void)ocfl_settings_count(s, k);
            (void)ocfl_settings_number(s, k);
            if (ocfl_settings_errnos(s, k, codes, 32) < 0)
                abort();
        }
    } else if (err.code >= 0 || !strstr(err.msg, "fuzz.conf")) {
        abort(); /* a refusal is an errno and names the file */
    }
    ocfl_settings_free(s);
    free(text);
    return 0;
}
