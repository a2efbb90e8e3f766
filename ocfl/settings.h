/* settings.h: the settings a site sets once (config files, layered), their keys and checks. */
#ifndef OCFL_SETTINGS_H
#define OCFL_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/*
 * A configuration file is INI text, as git's: `[section]` lines, then `key = value` lines;
 * `#` or `;` begins a comment line; blank lines are ignored; a value may be put in double
 * quotes (kept as written inside them).  A key is named "section.key", e.g.
 * "retry.content.maximum_attempts" is `maximum_attempts` under `[retry.content]`.  An
 * unknown section or key, a malformed line and a bad value are refused with the file, the
 * line and the key.  Within one file the last value of a key wins.
 *
 * The sources, lowest first; a later one overrides an earlier one, key by key:
 */
enum ocfl_settings_source {
    OCFL_SETTINGS_DEFAULT = 0,
    OCFL_SETTINGS_SYSTEM,       /* /etc/ocflfs.conf */
    OCFL_SETTINGS_USER,         /* ~/.config/ocflfs/config */
    OCFL_SETTINGS_ROOT,         /* the storage root's, in its state directory */
    OCFL_SETTINGS_COMMAND_LINE, /* an option */
};

/* "default", "system", "user", "root", "command line". */
const char *ocfl_settings_source_name(enum ocfl_settings_source src);

/* The keys, in the order they are listed; n of them. */
size_t ocfl_settings_n_keys(void);
const char *ocfl_settings_key(size_t i);
/* The default value of key @i as text ("auto", "100ms", "" for none). */
const char *ocfl_settings_key_default(size_t i);
/* Whether key @i is taken only from the system file and the command line (1) or from any
 * source (0). */
int ocfl_settings_key_secure(size_t i);
/* The index of @key, or -1 when there is none such. */
int ocfl_settings_key_index(const char *key);

/*
 * Whether @value is good for @key coming from @src.  0; -ENOENT (unknown key); -EINVAL (a bad
 * value, or a value only the system file or the command line may give, from another source,
 * e.g. allow_other in the user file's mount.options).  The message names the key and says
 * what is wanted; the caller puts the place in front.
 */
int ocfl_settings_check(const char *key, const char *value, enum ocfl_settings_source src,
                        struct ocfl_err *err);

/* Effective settings: every key's value and where it came from. */
struct ocfl_settings;

/* Every key at its default.  0 or -ENOMEM. */
int ocfl_settings_new(struct ocfl_settings **ret);
void ocfl_settings_free(struct ocfl_settings *s);

/*
 * Set @key to @value from @src (not OCFL_SETTINGS_DEFAULT), @where naming the place
 * ("/etc/ocflfs.conf:12", "--user").  Checked as ocfl_settings_check; the message then begins
 * with @where.  Each source's value is kept apart, so the order of calls does not matter: the
 * value in force is the highest source's, a second value from one source replaces its first;
 * but -o lists (mount.options) of every source add up, the lowest source's options first,
 * and their place names every file.
 */
int ocfl_settings_set(struct ocfl_settings *s, const char *key, const char *value,
                      enum ocfl_settings_source src, const char *where, struct ocfl_err *err);

/*
 * Read INI @text (@name for messages, e.g. the file's path) into @s as source @src, every
 * value checked.  After a bad line nothing of @text is kept (after -ENOMEM part may be).  0,
 * -EINVAL (the message: "NAME:LINE: ..."), -ENOMEM.
 */
int ocfl_settings_load_text(struct ocfl_settings *s, const char *text, const char *name,
                            enum ocfl_settings_source src, struct ocfl_err *err);

/*
 * Read the file @path into @s as source @src.  A missing file is no error (0).  With
 * @owner not (uid_t)-1 the file is read only when @owner owns it and it is neither group-
 * nor world-writable; else -EPERM with a message saying why (the caller may go on without
 * it).  At most 1 MiB.  Errors as ocfl_settings_load_text, and those of reading.
 */
int ocfl_settings_load_file(struct ocfl_settings *s, const char *path,
                            enum ocfl_settings_source src, uid_t owner, struct ocfl_err *err);

/* Key @key's value ("" when empty), and (each optional) its source and place ("default"
 * for a default).  NULL for an unknown key. */
const char *ocfl_settings_get(const struct ocfl_settings *s, const char *key,
                              enum ocfl_settings_source *ret_src, const char **ret_where);

/*
 * Typed reads of values that were checked when set: a duration in ms, a count (0 for
 * "auto"), a number.  An unknown key or one of another type reads 0.
 */
uint64_t ocfl_settings_ms(const struct ocfl_settings *s, const char *key);
unsigned ocfl_settings_count(const struct ocfl_settings *s, const char *key);
double ocfl_settings_number(const struct ocfl_settings *s, const char *key);

/*
 * The errno list of @key (non_retryable: names separated by spaces or commas, "none" for
 * none) as positive errnos into @codes (room for @max); returns how many, or -E2BIG.
 */
int ocfl_settings_errnos(const struct ocfl_settings *s, const char *key, int *codes, size_t max);

/*
 * Set @key to @value in the file @path (created 0644 whatever the umask, missing directories
 * 0755), keeping every other line: the key's last line is replaced, else the line is added to
 * the end of its section, else a new section is appended.  The value is checked for @src and
 * the file's present text must parse; the new text must give the value back as given.  An
 * existing file keeps its mode (and its owner, written by root).  A user file (@src
 * OCFL_SETTINGS_USER) that is a symbolic link is written where it points; any other link ("is
 * a symbolic link: not written"), a root's state directory that is a link (@src
 * OCFL_SETTINGS_ROOT) and a file that is not regular are refused.  Writers of one directory
 * take turns (flock of the directory, around the read and the rename), so concurrent writers
 * lose no update; a temporary file a killed writer left is removed by the next.  Written
 * durably (a temporary file of a unique name, fsync, rename, fsync of the directory).  0, or a
 * negative errno with a message naming the file.
 */
int ocfl_settings_write(const char *path, const char *key, const char *value,
                        enum ocfl_settings_source src, struct ocfl_err *err);

#endif
