#!/bin/sh
# count.sh: answers each line with how many lines this client has sent so far: every
# client has a program of its own, so a count of its own. An endpoint of the site example
# (examples/site/public/index.html shows it).
#
# Run: go run . --port=8080 --staticdir=examples/site/public --dir=examples/site/scripts
#
# then open http://localhost:8080/, or connect to ws://localhost:8080/count.sh alone.

n=0
while IFS= read -r _; do
    n=$((n + 1))
    echo "$n"
done
