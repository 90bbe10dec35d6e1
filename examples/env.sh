#!/bin/sh
# env.sh: prints the environment it was started with, one variable a line, sorted, then
# exits, which closes the connection. The quickest way to see what a program gets:
# REMOTE_ADDR, QUERY_STRING, PATH_INFO, an HTTP_* variable for each request header, and the
# rest, all listed in examples/README.md, "The program's environment". (PWD is set by sh
# itself, not by wsbridge.)
#
# Run: go run . --port=8080 examples/env.sh
#
# Try: websocat 'ws://localhost:8080/some/path?x=1' -H 'X-Name: Ann'

env | LC_ALL=C sort
