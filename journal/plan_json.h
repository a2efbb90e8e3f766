/* plan_json.h: a plan and its steps as JSON, with the field names every reader prints. */
#ifndef OCFLFS_PLAN_JSON_H
#define OCFLFS_PLAN_JSON_H

#include <jansson.h>

#include "journal.h"

/*
 * @p as a JSON object (a new reference, NULL when out of memory): id, kind ("version" or
 * "purge"), object_id, object_path, version, base_digest, inventory_digest, created,
 * message, state, last_error, steps, steps_done, bytes_total, bytes_done, created_ns,
 * started_ns, finished_ns, user ({name, address} or null).  With @interrupted set, a plan
 * recorded as running is shown as "interrupted" (nobody holds the journal's lock: its
 * process died).  `ocflfs plans --json`, `plan --json` and the web view print this.
 */
json_t *journal_plan_json(const struct journal_plan_info *p, int interrupted);

/* Add to @doc (journal_plan_json's) the plan's retry policies under "retry", as the journal
 * records them (journal_retry_to_json), and "retry_recorded": whether the plan recorded its
 * own or runs under the settings'.  `plan --json` and the web view's plan print them. */
void journal_plan_json_add_retry(json_t *doc, const struct journal_plan_info *p);

/* The state name journal_plan_json() gives @p ("interrupted" as said there). */
const char *journal_plan_shown_state(const struct journal_plan_info *p, int interrupted);

/*
 * @s as a JSON object (a new reference, NULL when out of memory): index, kind, source,
 * dest, digest, size, bytes_done, state, attempts, last_error, started_ns, finished_ns.
 */
json_t *journal_step_json(const struct journal_step_info *s);

#endif
