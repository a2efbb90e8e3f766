/* commit.h: turn an object's staged changes into a journaled update plan and run it. */
#ifndef OCFLFS_COMMIT_H
#define OCFLFS_COMMIT_H

#include <stdint.h>

#include "err.h"
#include "journal.h"
#include "root.h"

/* What a commit writes: the object and the new version's metadata. */
struct journal_commit_in {
    const char *object_id;    /* an object of the root, or a new one (staging_object_new) */
    const char *message;      /* the version's message; NULL for none */
    const char *user_name;    /* the version's user; NULL for none */
    const char *user_address; /* a URI, with user_name; NULL for none */
    const char *created;      /* RFC 3339; NULL: now (UTC) */
    /* where the object is, relative to the root, when the caller knows (the mount's index:
     * also an object that is not where the layout puts it); NULL: found by the layout */
    const char *object_path;
    unsigned flags; /* JOURNAL_COMMIT_REBASE, _CALLER_FINISHES, _UNSEEN_WRITERS */
};

/*
 * Commit the staged changes of @in->object_id (an object of @root, or a new
 * one staged with staging_object_new):
 *  1. in ONE transaction: freeze the current generation, compute the new
 *     state (head + overlay), hash (and fsync) frozen scratch files whose
 *     digest is not known, build the plan (ocfl_plan_build; sources are the
 *     scratch files, moved by rename) and record it (journal_plan_add_locked).
 *     Hashing happens inside the transaction so the digest is that of the
 *     frozen bytes; the glue hashes sequential writes at close, so this is
 *     rare.  The price: the database is write-locked meanwhile.
 *  2. run it (journal_plan_run);
 *  3. done: the frozen rows are dropped; reverted: they are merged back
 *     (the staged changes are intact; scratch files were moved back).
 * Empty explicit directories are dropped and
 * listed in the result.  *ret_plan_id (optional) gets the plan id (0 when
 * none was made); *ret_result (optional, malloc'd) gets JSON: {"object",
 * "version","plan","added","modified","removed","dropped_empty_dirs"} or
 * {"object","error","code"}.  Nothing staged: -ENODATA ("nothing to
 * commit", no version).  -EBUSY while another commit of the object runs.
 * -ESTALE (a conflict) when the changes were staged on another head than
 * the object's inventory now (another tool made a version meanwhile; see
 * staging_note_head): nothing is frozen, the staged changes stay, unless
 * @in->flags has JOURNAL_COMMIT_REBASE, which commits them over the new head.
 */
#define JOURNAL_COMMIT_REBASE 1u
/* With JOURNAL_COMMIT_CALLER_FINISHES a plan that ran to the end leaves its generation frozen:
 * the caller calls staging_finish (with the plan's inventory digest) once it can switch its
 * own view to the new version at the same moment (the mount, under its lock); a crash before
 * is finished by staging_recover. */
#define JOURNAL_COMMIT_CALLER_FINISHES 2u
/* With JOURNAL_COMMIT_UNSEEN_WRITERS the caller may not see every writer of its scratch files
 * (kernel passthrough): a frozen file that anyone may still write is never moved into the
 * version; the version gets a copy, made as the commit freezes (the caller holds its own
 * writers back meanwhile), and the file stays staged for the next one. */
#define JOURNAL_COMMIT_UNSEEN_WRITERS 4u
int journal_commit_object(struct journal *j, struct ocfl_root *root,
                          const struct journal_commit_in *in, int64_t *ret_plan_id,
                          char **ret_result, struct ocfl_err *err);

#endif
