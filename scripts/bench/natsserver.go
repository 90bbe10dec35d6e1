//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// natsReadyTimeout bounds how long the NATS server may take to accept
// connections.
const natsReadyTimeout = 10 * time.Second

// serveNATS runs a NATS server, "bench nats --port=PORT --address=ADDR":
// the Go module's own server, with JetStream on and its store in a
// temporary directory removed on exit. Once it accepts connections it
// prints "listening on ADDR:PORT" on stdout; it serves until SIGTERM or
// SIGINT. The fanout scenario over NATS runs it as a process of its own,
// so that its CPU time is its own, and so do the browser tests.
func serveNATS(args []string) error {
	fs := flag.NewFlagSet("nats", flag.ContinueOnError)
	port := fs.Int("port", 4222, "TCP `port` to listen on")
	address := fs.String("address", "127.0.0.1", "`address` to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := os.MkdirTemp("", "bench-nats-")
	if err != nil {
		return fmt.Errorf("creating the JetStream store: %w", err)
	}
	defer os.RemoveAll(store)
	s, err := natsserver.NewServer(&natsserver.Options{
		Host:      *address,
		Port:      *port,
		JetStream: true,
		StoreDir:  store,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		return fmt.Errorf("configuring the NATS server: %w", err)
	}
	s.Start()
	defer s.Shutdown()
	if !s.ReadyForConnections(natsReadyTimeout) {
		return fmt.Errorf("the NATS server did not accept connections within %v", natsReadyTimeout)
	}
	fmt.Printf("listening on %s\n", s.Addr())
	<-ctx.Done()
	return nil
}
