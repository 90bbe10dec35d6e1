#!/bin/sh
# calc.sh: a line calculator. Each line the client sends is a bc expression; each answer
# (or error) comes back as a line.
#
# Run: go run . --port=8080 examples/calc.sh
#
# Try: 2+2   sqrt(2)   4*a(1)   2^200   x=3; x*x   scale=2; 1/3
#
# Every line is worked out by its own `bc -l`, so a bad line (a syntax error, an unclosed
# brace or quote, "quit") only costs that line: it can't leave bc waiting for more input.
# The price is that variables don't carry over from one line to the next; put several
# statements on one line with ";". Needs bc (Debian/Ubuntu: apt-get install bc).

command -v bc >/dev/null 2>&1 || {
    echo "calc.sh: bc is not installed" >&2
    exit 1
}

# Keep long numbers on one line instead of breaking them with backslash-newline.
BC_LINE_LENGTH=0
export BC_LINE_LENGTH

# Give each line at most 5 seconds, so `while (1) {}` or read() can't spin forever.
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 5"

while IFS= read -r line; do
    [ -n "$line" ] || continue
    # bc reports errors on stderr: send them to the client too.
    out=$(printf '%s\n' "$line" | $limit bc -l 2>&1)
    [ $? -eq 124 ] && out="error: took too long"
    [ -n "$out" ] || continue
    # Drop bc's "(standard_in) 1:" and "Runtime error (...)" prefixes.
    printf '%s\n' "$out" | sed \
        -e 's/^(standard_in) [0-9]*: /error: /' \
        -e 's/^Runtime error ([^)]*), adr=[0-9]*): /error: /' \
        -e 's/^Runtime error: /error: /'
done
