#!/bin/sh
# counter.sh: counts from 1 to 10, one number a second, then exits, which closes the
# connection (close code 1000, since the script exits with status 0).
#
# Run: go run . --port=8080 examples/counter.sh

i=1
while :; do
    echo "$i"
    [ "$i" -ge 10 ] && break
    sleep 1
    i=$((i + 1))
done
