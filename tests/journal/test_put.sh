#!/usr/bin/env bash
. "$SOURCE_ROOT/tests/common/tap.sh"
done_testing
