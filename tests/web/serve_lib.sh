# serve_lib.sh: start `ocflfs serve` on a free port and stop it (sourced by the web tests).

# serve_start OUTFILE ROOT [ARGS...]: start it in the background; sets SERVE_PID and URL
# (empty when it did not come up within a generous bound).
serve_start() {
    local out=$1
    shift
    "$OCFLFS" serve "$@" >"$out" 2>&1 &
    SERVE_PID=$!
    URL=""
    for _ in $(seq 600); do
        if grep -q '^serving ' "$out"; then
            URL=$(awk '/^serving /{print $4; exit}' "$out")
            return 0
        fi
        kill -0 "$SERVE_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# serve_stop: SIGTERM, then wait for it; returns its exit status.
serve_stop() {
    [[ -n ${SERVE_PID:-} ]] || return 0
    kill -TERM "$SERVE_PID" 2>/dev/null
    wait "$SERVE_PID"
    local rc=$?
    SERVE_PID=""
    return $rc
}

# http_code URL-SUFFIX: the status of GET $URL$1 (the path sent as it is).
http_code() {
    curl -s --path-as-is -o /dev/null -w '%{http_code}' "$URL$1"
}
