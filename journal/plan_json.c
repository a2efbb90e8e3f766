/* plan_json.c: plans and steps as JSON, one spelling for the command line and the web. */
#include "plan_json.h"

#include <stdlib.h>

#include "utf8.h"

/* Text from the journal: not UTF-8 (an error cut mid-character by an older ocflfs) is
 * repaired with U+FFFD rather than making the whole document fail. */
static json_t *jstr(const char *s)
{
    return ocfl_json_string_lossy(s);
}

const char *journal_plan_shown_state(const struct journal_plan_info *p, int interrupted)
{
    return p->state == JOURNAL_PLAN_RUNNING && interrupted ? "interrupted"
                                                           : journal_plan_state_name(p->state);
}

json_t *journal_plan_json(const struct journal_plan_info *p, int interrupted)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:I, s:I, s:I, s:I, "
                     "s:I, s:I, s:I, s:o}",
                     "id", (json_int_t)p->id, "kind", p->purge ? "purge" : "version", "object_id",
                     jstr(p->object_id), "object_path", jstr(p->object_path), "version",
                     jstr(p->version), "base_digest", jstr(p->base_digest), "inventory_digest",
                     jstr(p->inventory_digest), "created", jstr(p->created), "message",
                     jstr(p->message), "state", journal_plan_shown_state(p, interrupted),
                     "last_error", jstr(p->last_error), "steps", (json_int_t)p->n_steps,
                     "steps_done", (json_int_t)p->steps_done, "bytes_total",
                     (json_int_t)p->bytes_total, "bytes_done", (json_int_t)p->bytes_done,
                     "created_ns", (json_int_t)p->created_ns, "started_ns",
                     (json_int_t)p->started_ns, "finished_ns", (json_int_t)p->finished_ns, "user",
                     p->user_name ? json_pack("{s:o, s:o}", "name", jstr(p->user_name), "address",
                                              jstr(p->user_address))
                                  : json_null());
}

json_t *journal_step_json(const struct journal_step_info *s)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:I, s:I, s:s, s:I, s:o, s:I, s:I}", "index",
                     (json_int_t)s->idx, "kind",
                     ocfl_step_kind_name(s->kind) ? ocfl_step_kind_name(s->kind) : "unknown",
                     "source", jstr(s->source), "dest", jstr(s->dest), "digest", jstr(s->digest),
                     "size", (json_int_t)s->size, "bytes_done", (json_int_t)s->bytes_done, "state",
                     journal_step_state_name(s->state), "attempts", (json_int_t)s->attempts,
                     "last_error", jstr(s->last_error), "started_ns", (json_int_t)s->started_ns,
                     "finished_ns", (json_int_t)s->finished_ns);
}

void journal_plan_json_add_retry(json_t *doc, const struct journal_plan_info *p)
{
    char *text = NULL;

    if (!doc || journal_retry_to_json(p->retry, &text) < 0)
        return;
    json_object_set_new(doc, "retry", json_loads(text, 0, NULL));
    json_object_set_new(doc, "retry_recorded", json_boolean(p->retry_recorded));
    free(text);
}
