# tap.sh: TAP helpers for the shell tests (sourced).  Every check prints ok/not ok;
# done_testing prints the plan and exits 1 if any check failed.
tap_n=0
tap_failed=0

# tap_diag TEXT: TEXT as TAP diagnostics, every line of it behind '#' (a finding or a
# command's output on a line of its own would be a stray line of the TAP stream)
tap_diag() {
    printf '%s\n' "$1" | sed 's/^/#   /'
}

tap_result() { # tap_result OK DESCRIPTION [DETAIL]
    tap_n=$((tap_n + 1))
    if [[ $1 == 1 ]]; then
        echo "ok $tap_n - ${2//$'\n'/ }"
    else
        tap_failed=$((tap_failed + 1))
        echo "not ok $tap_n - ${2//$'\n'/ }"
        [[ -n ${3:-} ]] && tap_diag "$3"
    fi
    return 0
}

check_eq() { # check_eq DESCRIPTION WANT GOT
    if [[ "$2" == "$3" ]]; then tap_result 1 "$1"; else tap_result 0 "$1" "want '$2', got '$3'"; fi
}

check_grep() { # check_grep DESCRIPTION FIXED-STRING FILE
    if grep -qF -- "$2" "$3"; then tap_result 1 "$1"; else tap_result 0 "$1" "'$2' not in: $(head -c 400 "$3")"; fi
}

check_true() { # check_true DESCRIPTION COMMAND...
    local d=$1; shift
    # the command's output is not TAP: to stderr
    if "$@" >&2; then tap_result 1 "$d"; else tap_result 0 "$d" "command failed: $*"; fi
}

done_testing() {
    echo "1..$tap_n"
    if ((tap_failed)); then
        echo "# $tap_failed of $tap_n checks failed"
        exit 1
    fi
    exit 0
}
