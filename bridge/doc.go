// Package bridge connects one WebSocket to one child program (Start), or
// many to one child (NewBroadcast): client messages become lines on the
// child's stdin, lines the child prints become messages, and when either
// side goes the other is told how.
//
// A session's life, and the files that hold each step:
//
//  1. Accept takes the upgrade; the Conn counts what it moves (conn.go).
//  2. Start runs the session on it and returns at once (bridge.go).
//  3. A client message becomes a line on stdin, at MaxRate (input.go).
//  4. A quiet client's input rests on a ReadWatch (clientwatch.go).
//  5. Stdout is read in chunks, each line a message (chunks.go, lines.go).
//  6. Stderr lines go to Config.Stderr, or the client (stderr.go).
//  7. Pings check that the client is still there (ping.go).
//  8. The child exits: last output, then 1000 or 1011 (close.go).
//  9. The client goes, or the server stops: the child is stopped.
//  10. Once all has ended, done is called with the Result.
//
// A Broadcast (broadcast.go) shares one child among many clients: each
// has its own input, pings and close, and the child's output goes to all.
package bridge
