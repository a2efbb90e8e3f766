/* validate_decl.c: NAMASTE conformance declarations of objects and storage roots. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "validate_int.h"

const struct val_decl val_decl_object = {
    .prefix = "0=ocfl_object_",
    .what = "object",
    .bad_t = OCFL_CK_OBJ_DECL_T,
    .bad_name = OCFL_CK_OBJ_DECL_NAME,
    .not_file = OCFL_CK_OBJ_DECL_NOT_FILE,
    .bad_content = OCFL_CK_OBJ_DECL_CONTENT,
    .missing = OCFL_CK_OBJ_DECL_MISSING,
    .multiple = OCFL_CK_OBJ_DECL_MULTIPLE,
};

const struct val_decl val_decl_root = {
    .prefix = "0=ocfl_",
    .what = "storage root",
    .bad_t = OCFL_CK_ROOT_DECL_T,
    .bad_name = OCFL_CK_ROOT_DECL_NAME,
    .not_file = OCFL_CK_ROOT_DECL_NOT_FILE,
    .bad_content = OCFL_CK_ROOT_DECL_CONTENT,
    .missing = OCFL_CK_ROOT_DECL_MISSING,
    .multiple = OCFL_CK_ROOT_DECL_MULTIPLE,
};

/* The spec a declaration name gives under @k's prefix ("1.0" / "1.1"), or unknown. */
static enum ocfl_spec declared_spec(const struct val_decl *k, const char *name)
{
    size_t plen = strlen(k->prefix);

    if (strncmp(name, k->prefix, plen))
        return OCFL_SPEC_UNKNOWN;
    if (!strcmp(name + plen, "1.0"))
        return OCFL_SPEC_1_0;
    if (!strcmp(name + plen, "1.1"))
        return OCFL_SPEC_1_1;
    return OCFL_SPEC_UNKNOWN;
}

void val_check_declaration(struct vctx *c, const struct vdent *d, size_t n,
                           const struct val_decl *k)
{
    int found = 0;

    for (size_t i = 0; i < n; i++) {
        const char *name = d[i].name;
        size_t digits = strspn(name, "0123456789");
        enum ocfl_spec spec;
        char *buf = NULL;
        size_t len = 0;
        int rc;

        if (!digits || name[digits] != '=')
            continue;
        if (digits != 1 || name[0] != '0') {
            vreport(c, k->bad_t, name, "declaration '%s': T must be 0", name);
            continue;
        }
        if (!(spec = declared_spec(k, name))) {
            vreport(c, k->bad_name, name, "'%s' does not declare an OCFL %s (%s1.0 or 1.1)", name,
                    k->what, k->prefix);
            continue;
        }
        if (d[i].type != VT_REG) {
            vreport(c, k->not_file, name, "declaration '%s' is not a regular file", name);
            continue;
        }
        if (++found == 1)
            c->spec = spec;
        rc = ocfl_io_read_file(c->fd, name, VAL_SMALL_FILE_MAX, &buf, &len, NULL);
        if (rc == -ENOMEM)
            c->oom = 1;
        else if (rc < 0 || len != strlen(name + 2) + 1 || memcmp(buf, name + 2, len - 1) ||
                 buf[len - 1] != '\n')
            vreport(c, k->bad_content, name, "declaration must contain '%s' and a newline",
                    name + 2);
        free(buf);
    }
    if (!found)
        vreport(c, k->missing, NULL, "no %s declaration (%s1.x)", k->what, k->prefix);
    else if (found > 1)
        vreport(c, k->multiple, NULL, "more than one %s declaration", k->what);
}
