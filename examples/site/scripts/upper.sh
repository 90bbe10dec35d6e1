#!/bin/sh
# upper.sh: answers each line with the same line in upper case. An endpoint of the site
# example (examples/site/public/index.html shows it).
#
# Run: go run . --port=8080 --staticdir=examples/site/public --dir=examples/site/scripts
#
# then open http://localhost:8080/, or connect to ws://localhost:8080/upper.sh alone.

while IFS= read -r line; do
    printf '%s\n' "$line" | tr '[:lower:]' '[:upper:]'
done
