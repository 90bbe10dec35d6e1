#!/bin/sh
# chat.sh: a chat room. With --broadcast, every client of a path shares this one program, so
# each line a client sends comes back to everyone in the room, with the time in front.
#
# Run: go run . --port=8080 --broadcast examples/chat.sh
#
# Each URL path is a room of its own: ws://localhost:8080/lobby and ws://localhost:8080/games
# are two programs. A client that joins sees what is said from then on.

while IFS= read -r line; do
    printf '%s %s\n' "$(date +%H:%M:%S)" "$line"
done
