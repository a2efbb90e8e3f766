/* cli_settings.h: the settings in force for a command: the files read in order, then options. */
#ifndef OCFLFS_CLI_SETTINGS_H
#define OCFLFS_CLI_SETTINGS_H

#include "err.h"
#include "journal.h"
#include "settings.h"

/*
 * The files, lowest first: the system file ($OCFLFS_SYSTEM_CONFIG when set, for tests and
 * packagers; else /etc/ocflfs.conf), the user file ($XDG_CONFIG_HOME/ocflfs/config, else
 * ~/.config/ocflfs/config), the storage root's (STATE/ocflfs.conf, STATE the state directory:
 * --state, else ROOT/extensions/ocflfs).  Each path is malloc()ed into *ret: 0 or -ENOMEM
 * (-ENOENT for the user file when there is no home directory).
 */
int cli_settings_system_path(char **ret);
int cli_settings_user_path(char **ret);
int cli_settings_root_path(const char *root, const char *state, char **ret);

/*
 * Every file that exists read into new settings; @root NULL: no root file.  A root file
 * the running user does not own, or that others may write, is skipped with a warning on
 * stderr.  0, or the first file's error (its place named: a bad value, an unreadable file).
 */
int cli_settings_load(const char *root, const char *state, struct ocfl_settings **ret,
                      struct ocfl_err *err);

/* The retry policy of each kind of step (@r: JOURNAL_RETRY_KIND_COUNT of them) and the
 * content step threads, into @o (o->retry points at @r). */
void cli_settings_journal(const struct ocfl_settings *s, struct journal_retry *r,
                          struct journal_options *o);

/*
 * Who signs by default: when *@user is NULL (no --user) and user.name is set, user.name and
 * user.address (when set) of @s; a --user given keeps only the --address given with it, and
 * user.address alone does nothing (it names the user of user.name).
 */
void cli_settings_identity(const struct ocfl_settings *s, const char **user, const char **address);

#endif
