/* test_plan_bytes.c: large plans give exactly the inventory bytes of the reference implementation.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "inventory.h"
#include "inventory_priv.h"
#include "plan.h"
#include "test_plan_gen.h"

/*
 * The reference digests below are the sha512 of the inventory bytes the
 * first, straightforward plan builder and serializer produced for these
 * inputs (before they were made faster).  A change to them is a change of
 * output bytes: a fault unless the format itself was meant to change.
 * Each plan's bytes are also checked against jansson (parse, then dump
 * with the same layout) and against a parse-and-serialize round trip.
 */
#define N_FILES 5000
static const char *const want_v1 =
    "365dd1baa820fd5bd63f306106162db27eab1a4a0ec68c2b896e7e0157836eb0"
    "12459f8c41743f61c63c3a2eb19aa7bb206efffeb0f480f034d2bafe800fc384";
static const char *const want_v2 =
    "5b99e97938c32d80964e51a99f8ca774c73742e2ac23f01602a875ad8de77a51"
    "c98000ccd0c2220a88479b327909cc48a7c9dccbe3ec04cb76c649bb8f237813";
static const char *const want_v3 =
    "d4f5b1b9bf05e21bcb492bedea9900f216166fcd8a7c065a8286fcf6772a0da2"
    "30734a5169db6b5ec0a1a0e56e3948eb29d32912fab1f4be8df901039e99d32c";
static const char *const want_pad =
    "ebcb48c9ea5d6d701840f79e1caade9e5d44461406a7507f870f533ccf3aeadf"
    "cbc3a4d6cf7c88016a70daf97d03318e9fa4c7767c9ad3b232e2e983add1edaa";

/* jansson's JSON_INDENT(2) layout plus the trailing newline the serializer adds. */
static int same_as_jansson(const char *bytes, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(bytes, len, 0, &jerr);
    char *dump;
    int same;

    if (!j)
        return 0;
    dump = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    same =
        dump && strlen(dump) + 1 == len && !memcmp(dump, bytes, len - 1) && bytes[len - 1] == '\n';
    free(dump);
    return same;
}

/* Everything one plan's inventory must satisfy; returns the parsed inventory (or NULL). */
static struct ocfl_inventory *check_bytes(const struct ocfl_plan *p, const char *want)
{
    struct ocfl_inventory *inv = NULL;
    struct ocfl_hasher *h = NULL;
    char hex[OCFL_DIGEST_HEX_MAX] = "", *again = NULL;
    size_t again_len = 0;

    CHECK_OK(ocfl_hasher_new(1u << OCFL_DIGEST_SHA512, &h, NULL));
    ocfl_hasher_update(h, p->inventory, p->inventory_len);
    CHECK_OK(ocfl_hasher_final(h, OCFL_DIGEST_SHA512, hex));
    ocfl_hasher_free(h);
    CHECK_STR(p->inventory_digest, hex);
    CHECK_STR(hex, want);
    CHECK_INT(strlen(p->inventory), p->inventory_len);
    CHECK(same_as_jansson(p->inventory, p->inventory_len));
    CHECK_OK(ocfl_inventory_parse(p->inventory, p->inventory_len, &inv, NULL));
    CHECK_OK(inv ? ocfl_inventory_serialize(inv, &again, &again_len, NULL) : -1);
    CHECK(again && again_len == p->inventory_len && !memcmp(again, p->inventory, again_len));
    free(again);
    return inv;
}

static int count_kind(const struct ocfl_plan *p, enum ocfl_step_kind k)
{
    int n = 0;

    for (size_t i = 0; i < p->n_steps; i++)
        n += p->steps[i].kind == k;
    return n;
}

/* Next state from @base's head: drop every 17th file, change every 23rd, add @n_new files. */
static void next_state(struct gen_files *g, const struct ocfl_inventory *base, unsigned gen,
                       unsigned n_new)
{
    const struct ocfl_version *h = ocfl_inventory_head(base);

    gen_init(g, h->n_state + n_new);
    for (size_t i = 0; i < h->n_state; i++) {
        struct ocfl_plan_file *f = &g->f[g->n];
        if (i % 17 == gen)
            continue;
        if (i % 23 == gen) { /* new content, every other one staged twice (dedup) */
            gen_add(g, 100000 * gen + (unsigned)i, 50000 * gen + (unsigned)i / 46, 1, 0, 1,
                    OCFL_DIGEST_SHA512);
            free(g->owned[g->n_owned - 1 - 1]); /* keep the old logical path */
            g->owned[g->n_owned - 1 - 1] = strdup(h->state[i].logical_path);
            g->f[g->n - 1].logical_path = g->owned[g->n_owned - 1 - 1];
            continue;
        }
        f->logical_path = h->state[i].logical_path;
        f->digest = h->state[i].digest;
        g->n++;
    }
    for (unsigned k = 0; k < n_new; k++) /* new paths: old content (staged or not), new content */
        gen_add(g, 200000 * gen + k, k % 3 ? k * 7 : 70000 * gen + k, k % 3 != 1, k % 5 == 0, 1,
                OCFL_DIGEST_SHA512);
}

/* Serializing while digesting on a second thread gives the bytes and digest of doing one after the
 * other. */
static void check_serialize_digest(const struct ocfl_inventory *inv, enum ocfl_digest_alg alg)
{
    char *plain = NULL, *both = NULL, hex[OCFL_DIGEST_HEX_MAX] = "", want[OCFL_DIGEST_HEX_MAX] = "";
    size_t plain_len = 0, both_len = 0;
    struct ocfl_hasher *h = NULL;

    CHECK_OK(ocfl_inventory_serialize(inv, &plain, &plain_len, NULL));
    CHECK_OK(ocfl_inventory_serialize_digest(inv, alg, &both, &both_len, hex, NULL));
    CHECK(plain && both && plain_len == both_len && !memcmp(plain, both, plain_len + 1));
    CHECK_OK(ocfl_hasher_new(1u << alg, &h, NULL));
    if (plain)
        ocfl_hasher_update(h, plain, plain_len);
    CHECK_OK(ocfl_hasher_final(h, alg, want));
    ocfl_hasher_free(h);
    CHECK_STR(hex, want);
    free(plain);
    free(both);
}

/* Replace every @from in @s by @to (a new string). */
static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t lf = strlen(from), lt = strlen(to), n = 0;
    const char *p;
    char *out, *o;

    for (p = s; (p = strstr(p, from)); p += lf)
        n++;
    out = malloc(strlen(s) + n * (lt + 1) + 1);
    if (!out)
        abort();
    for (o = out, p = s;;) {
        const char *q = strstr(p, from);
        size_t k = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!q)
            break;
        memcpy(o, to, lt);
        o += lt;
        p = q + lf;
    }
    *o = '\0';
    return out;
}

/* @base's bytes made zero-padded ("v001"), with contentDirectory "data" and a fixity block. */
static struct ocfl_inventory *padded_base(const struct ocfl_plan *p)
{
    char *a = replace_all(p->inventory, "\"v1/content/", "\"v001/data/");
    char *b = replace_all(a, "\"head\": \"v1\",",
                          "\"head\": \"v001\",\n  \"contentDirectory\": \"data\",");
    char *c = replace_all(b, "\"v1\": {", "\"v001\": {");
    char *d = replace_all(c, "\n}\n",
                          ",\n  \"fixity\": {\n    \"md5\": {\n      "
                          "\"0123456789abcdef0123456789ABCDEF\": [\n        "
                          "\"v001/data/d00/f000000.txt\"\n      ]\n    }\n  }\n}\n");
    struct ocfl_inventory *inv = NULL;

    CHECK_OK(ocfl_inventory_parse(d, strlen(d), &inv, NULL));
    free(a);
    free(b);
    free(c);
    free(d);
    return inv;
}

int main(void)
{
    struct ocfl_plan_input in = {.id = "urn:test:\xc3\xa9t\xc3\xa9 \"q\"\\",
                                 .created = "2026-03-04T05:06:07Z",
                                 .message = "first\nline \"two\"\t\xe2\x9c\x93",
                                 .user_name = "A. N\xc3\xb6ne",
                                 .user_address = "mailto:a@example.org"};
    struct ocfl_plan *p1 = NULL, *p2 = NULL, *p3 = NULL, *pp = NULL;
    struct ocfl_inventory *v1 = NULL, *v2 = NULL, *v3 = NULL, *pad = NULL;
    struct ocfl_err err = {0};
    struct gen_files g1, g2, g3, gp;

    /* v1: a new object, 10% of the content staged twice */
    gen_init(&g1, N_FILES);
    for (unsigned i = 0; i < N_FILES; i++)
        gen_add(&g1, i, i % (N_FILES - N_FILES / 10), 1, 0, 1, OCFL_DIGEST_SHA512);
    in.files = g1.f;
    in.n_files = g1.n;
    CHECK_OK(ocfl_plan_build(&in, &p1, &err));
    if (!p1)
        return check_done();
    CHECK_INT(count_kind(p1, OCFL_STEP_CONTENT), N_FILES - N_FILES / 10);
    CHECK_INT(count_kind(p1, OCFL_STEP_RELEASE), N_FILES / 10);
    v1 = check_bytes(p1, want_v1);

    /* v2, v3: removals, changes, additions on a parsed base */
    in = (struct ocfl_plan_input){.created = "2026-03-05T05:06:07+01:00", .message = NULL};
    for (unsigned gen = 1; gen <= 2 && v1; gen++) {
        struct ocfl_inventory *base = gen == 1 ? v1 : v2;
        struct ocfl_plan **pp_ = gen == 1 ? &p2 : &p3;
        struct gen_files *g = gen == 1 ? &g2 : &g3;
        next_state(g, base, gen, 500);
        in.base = base;
        in.base_digest = gen == 1 ? p1->inventory_digest : p2->inventory_digest;
        in.files = g->f;
        in.n_files = g->n;
        in.user_name = gen == 2 ? "only a name" : NULL;
        CHECK_OK(ocfl_plan_build(&in, pp_, &err));
        if (!*pp_)
            break;
        CHECK(!ocfl_plan_is_empty(*pp_));
        if (gen == 1)
            v2 = check_bytes(p2, want_v2);
        else
            v3 = check_bytes(p3, want_v3);
        if (gen == 1 && !v2)
            break;
    }
    CHECK(v3 && v3->n_versions == 3 && v3->n_manifest > N_FILES);
    if (v3) {
        check_serialize_digest(v3, OCFL_DIGEST_SHA256);
        check_serialize_digest(v3, OCFL_DIGEST_SHA512);
    }
    if (p2 && p3)
        printf("# v2: +%zu ~%zu -%zu, v3: +%zu ~%zu -%zu\n", p2->n_added, p2->n_modified,
               p2->n_removed, p3->n_added, p3->n_modified, p3->n_removed);

    /* a zero-padded base with a content directory and fixity */
    pad = p1 ? padded_base(p1) : NULL;
    if (pad) {
        next_state(&gp, pad, 3, 300);
        in = (struct ocfl_plan_input){.base = pad,
                                      .base_digest = "ABCDEF",
                                      .created = "2026-03-06T00:00:00Z",
                                      .message = "",
                                      .files = gp.f,
                                      .n_files = gp.n};
        CHECK_OK(ocfl_plan_build(&in, &pp, &err));
        if (pp) {
            struct ocfl_inventory *back = check_bytes(pp, want_pad);
            CHECK_STR(pp->version_name, "v002");
            CHECK(back && back->n_fixity == 1);
            ocfl_inventory_free(back);
        }
        gen_free(&gp);
    }

    ocfl_plan_free(p1);
    ocfl_plan_free(p2);
    ocfl_plan_free(p3);
    ocfl_plan_free(pp);
    ocfl_inventory_free(v1);
    ocfl_inventory_free(v2);
    ocfl_inventory_free(v3);
    ocfl_inventory_free(pad);
    gen_free(&g1);
    if (v1)
        gen_free(&g2);
    if (v2)
        gen_free(&g3);
    return check_done();
}
