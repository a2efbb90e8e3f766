#!/usr/bin/env bash
# test_diff_large.sh: a diff of two versions with 20,000 renamed files, through the command
# line and the web view: it completes (a generous bound, no timing claim) with the right
# counts; the web answer lists at most 1000 paths of each kind and gives the totals.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/web/serve_lib.sh"

N=20000
tmp=$(mktemp -d)
trap 'serve_stop; rm -rf "$tmp"' EXIT
R=$tmp/root
python3 - "$tmp/d/old" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
for i in range(n):
    with open(os.path.join(d, "f%05d" % i), "w") as f:
        f.write("file %d\n" % i)
PY
"$OCFLFS" init "$R" >/dev/null || exit 1
"$OCFLFS" put "$R" big "$tmp/d" -m one --user Ada >/dev/null || exit 1
mv "$tmp/d/old" "$tmp/d/new"
echo added >"$tmp/d/extra.txt"
"$OCFLFS" put "$R" big "$tmp/d" -m two --user Ada >/dev/null || exit 1

timeout 120 "$OCFLFS" diff "$R" big --json >"$tmp/cli.json"
check_eq "diff --json of $N renamed files completes" 0 $?
counts() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(*[len(d[k]) for k in ("added","modified","removed","renamed")])' "$1"; }
check_eq "the command line lists them all (added modified removed renamed)" "1 0 0 $N" "$(counts "$tmp/cli.json")"
check_eq "each renamed to its own new path" "new/f12345" \
    "$(python3 -c 'import json,sys; print({m["from"]: m["to"] for m in json.load(open(sys.argv[1]))["renamed"]}["old/f12345"])' "$tmp/cli.json")"

serve_start "$tmp/serve.out" "$R" --listen 127.0.0.1:0
check_true "serve starts" test -n "$URL"
curl -s -m 120 -o "$tmp/web.json" "${URL}api/diff?id=big"
check_eq "the web's diff completes" 0 $?
check_eq "the web lists at most 1000 of each" "1 0 0 1000" "$(counts "$tmp/web.json")"
check_eq "and gives the totals" "1 0 0 $N" \
    "$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print(t["added"], t["modified"], t["removed"], t["renamed"])' "$tmp/web.json")"
curl -s -m 120 -o "$tmp/web.html" "${URL}diff?id=big"
check_grep "the page gives the total" "<span id=\"n-renamed\">$N</span>" "$tmp/web.html"
check_eq "the page lists at most 1000" 1000 "$(grep -c '&rarr;' "$tmp/web.html")"
# the plan of the first put has a step for each of the 20,000 files: its page shows 1000 at a time
curl -s -m 120 -o "$tmp/plan.json" "${URL}api/plan?id=1"
read -r nsteps nlist <<<"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["steps"], len(d["step_list"]))' "$tmp/plan.json")"
check_true "the plan has at least $N steps ($nsteps)" test "${nsteps:-0}" -ge "$N"
check_eq "its JSON lists the first 1000" 1000 "$nlist"
curl -s -m 120 -o "$tmp/plan.html" "${URL}plan?id=1"
check_eq "its page shows 1000 steps" 1000 "$(grep -c '<tr id="step-' "$tmp/plan.html")"
check_grep "and says which, with a link to the next" "offset=1000\" rel=\"next\"" "$tmp/plan.html"
last=$((nsteps - 5))
check_eq "the last page holds the rest" 5 \
    "$(curl -s "${URL}plan?id=1&offset=$last" | grep -c '<tr id="step-')"
serve_stop
check_eq "serve ends with 0 on SIGTERM" 0 $?
done_testing
