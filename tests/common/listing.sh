# listing.sh: wait_listing MNT [CTL]: until the mount at MNT has its root listing complete.  A
# first mount of a root (no object index yet) serves at once and fills its listing from a
# walk; tests that look at the listing, or at objects the layout would not find by name (made
# by hand at short paths), wait for it.  Order of events, not time: up to 5 minutes.
wait_listing() {
    local st="$1/${2:-.ocfl}/status" i
    for ((i = 0; i < 3000; i++)); do
        python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])).get("listing") != "complete")' \
            "$st" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
