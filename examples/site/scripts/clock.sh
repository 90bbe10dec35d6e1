#!/bin/sh
# clock.sh: sends the time, once a second, until the client goes. An endpoint of the site
# example (examples/site/public/index.html shows it).
#
# Run: go run . --port=8080 --staticdir=examples/site/public --dir=examples/site/scripts
#
# then open http://localhost:8080/, or connect to ws://localhost:8080/clock.sh alone.

while :; do
    date +%H:%M:%S
    sleep 1
done
