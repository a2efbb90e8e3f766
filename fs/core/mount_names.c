/* mount_names.c: object ids <-> directory names of the mount (percent-encoding, long ids). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "mount.h"
#include "path.h"

#define NAME_MAX_BYTES 255
#define LONG_PREFIX    200

int mount_name_encode(const char *id, char **ret)
{
    size_t len = strlen(id), o = 0;
    char *out = malloc(len * 3 + 1);

    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c == '%' || c == '/' || (c == '.' && i == 0)) {
            static const char hex[] = "0123456789ABCDEF";
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    if (o > NAME_MAX_BYTES) {
        /* cut at a character boundary outside an escape, then add a hash */
        size_t cut = LONG_PREFIX;
        char hexd[OCFL_DIGEST_HEX_MAX];

        while (cut > 0 && (((unsigned char)out[cut] & 0xC0) == 0x80))
            cut--;
        if (cut >= 1 && out[cut - 1] == '%')
            cut -= 1;
        else if (cut >= 2 && out[cut - 2] == '%')
            cut -= 2;
        if (ocfl_digest_buffer(OCFL_DIGEST_SHA256, id, len, hexd, NULL) < 0) {
            free(out);
            return -ENOMEM;
        }
        out[cut] = '~';
        memcpy(out + cut + 1, hexd, 32);
        out[cut + 33] = '\0';
    }
    *ret = out;
    return 0;
}

int mount_name_decode(const char *name, char **ret)
{
    size_t len = strlen(name), o = 0;
    char *out = malloc(len + 1);

    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        if (name[i] != '%') {
            if (i == 0 && name[i] == '.')
                goto bad;
            out[o++] = name[i];
            continue;
        }
        /* a NUL after '%' is no hex digit, so no read passes the end */
        int hi = ocfl_hex_value(name[i + 1]), lo = hi < 0 ? -1 : ocfl_hex_value(name[i + 2]);
        if (hi < 0 || lo < 0)
            goto bad;
        char c = (char)(hi << 4 | lo);
        if (c != '%' && c != '/' && !(c == '.' && i == 0))
            goto bad;
        out[o++] = c;
        i += 2;
    }
    out[o] = '\0';
    *ret = out;
    return 0;
bad:
    free(out);
    return -EINVAL;
}
