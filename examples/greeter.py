#!/usr/bin/env python3
# greeter.py: answers every name it reads, one per line, with "Hello, NAME!";
# exits at end of input (when the client goes away).
#
# Run: go run . --port=8080 examples/greeter.py

import sys


def main():
    # WebSocket text is always UTF-8, whatever the locale says.
    sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    sys.stdout.reconfigure(encoding="utf-8")

    for line in sys.stdin:
        name = line.strip() or "stranger"
        # flush=True so answers go out at once even when stdout is a plain pipe.
        print(f"Hello, {name}!", flush=True)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        # Stopped by a signal, or nobody is listening any more: just leave quietly.
        sys.exit(0)
