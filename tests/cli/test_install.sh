#!/usr/bin/env bash
# test_install.sh: `meson install` puts the binary, the man page and bash completion in place
# (issue 14), and the three ways of telling a user how to call ocflfs agree: every command of
# `ocflfs --help` has its `--help`, a line in the man page and one in README's command list;
# every -o option the mount takes (read from its source) is in the man page and README.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
dest="$WORK/dest"
out=$(meson install -C "$BUILD_ROOT" --destdir "$dest" --no-rebuild --quiet 2>&1)
tap_result $(($? == 0)) "meson install --destdir" "$out"
for f in bin/ocflfs share/man/man1/ocflfs.1 share/bash-completion/completions/ocflfs; do
    found=$(find "$dest" -path "*/$f" | head -1)
    check_true "installed: $f" test -n "$found"
done
bin=$(find "$dest" -path '*/bin/ocflfs' | head -1)
check_eq "the installed binary runs" "ocflfs" "$("$bin" --version 2>&1 | cut -d' ' -f1)"
man="$SOURCE_ROOT/doc/ocflfs.1"
readme="$SOURCE_ROOT/README.md"
bash -n "$SOURCE_ROOT/doc/ocflfs.bash-completion"
check_eq "the completion script is valid bash" 0 $?

cmds=$("$OCFLFS" --help | awk '$1 == "ocflfs" { print $2 }')
for c in $cmds; do
    out=$("$OCFLFS" "$c" --help 2>&1)
    rc=$?
    tap_result $([[ $rc == 0 && $out == "usage: ocflfs $c"* ]] && echo 1 || echo 0) "ocflfs $c --help" "rc $rc: $out"
    check_true "the man page has '$c'" grep -q "^\.B ocflfs $c\$" "$man"
    check_true "README's command list has '$c'" grep -q "^ocflfs $c " "$readme"
    check_true "bash completion knows '$c'" grep -q "cmds=\".*\b$c\b" "$SOURCE_ROOT/doc/ocflfs.bash-completion"
    # every option of its synopsis is in the man page, README and the completion
    for o in $(head -3 <<<"$out" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        [[ $o == --help ]] && continue
        check_true "  $c $o: in the man page" grep -q -- "$(sed 's/-/\\\\-/g' <<<"$o")" "$man"
        check_true "  $c $o: in README" grep -q -- "$o" "$readme"
        check_true "  $c $o: in the completion" grep -q -- "$o" "$SOURCE_ROOT/doc/ocflfs.bash-completion"
    done
done
opts=$(grep -o 'strn\?cmp(tok, "[a-z_]*=\?"' "$SOURCE_ROOT/fs/cli/cmd_mount.c" | sed 's/.*"\(.*\)"/\1/; s/=$//' | sort -u)
for o in $opts; do
    check_true "mount option '$o' is in the man page" grep -q "$(sed 's/_/\\\\_/g' <<<"$o")\|$o" "$man"
    check_true "mount option '$o' is in README" grep -q "\`$o[=\`]" "$readme"
done
done_testing
