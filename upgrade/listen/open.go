package listen

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// Config says where wsbridge listens. The zero value listens nowhere.
type Config struct {
	// Activated are the sockets passed by socket activation (see
	// Activated). When there are any, they are the service's listeners
	// and TCP and UnixSocket are not used.
	Activated []net.Listener
	// TCP asks for a TCP listener on Port for each of Addresses, or one
	// on all interfaces when there are none.
	TCP       bool
	Addresses []string
	Port      int
	// UnixSocket, when set, is the path of a unix socket the service
	// listens on as well (see Unix).
	UnixSocket string
	// RedirPort, when not 0, is the TCP port of the listener that
	// redirects to the service, on the first of Addresses.
	RedirPort int
	// MetricsAddress, when set, is the HOST:PORT of the listener for
	// metrics and health.
	MetricsAddress string
}

// Listeners are the listeners Open opened.
type Listeners struct {
	Service  []net.Listener // the service's: TCP, unix or activated
	Redirect net.Listener   // the redirect's; nil for none
	Metrics  net.Listener   // for metrics and health; nil for none
}

// Open opens every listener cfg asks for. If one cannot be opened, it
// closes those it opened and those of cfg.Activated, and returns an error
// naming the flag that chose the port; when the port is taken or needs
// privileges, the error says what to do.
func Open(cfg Config) (*Listeners, error) {
	l := &Listeners{Service: cfg.Activated}
	if len(cfg.Activated) == 0 && cfg.TCP {
		lns, err := TCP(cfg.Addresses, cfg.Port)
		if err != nil {
			return nil, portError("--port", err)
		}
		l.Service = lns
	}
	if len(cfg.Activated) == 0 && cfg.UnixSocket != "" {
		ln, err := Unix(cfg.UnixSocket)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.Service = append(l.Service, ln)
	}
	if cfg.RedirPort != 0 {
		lns, err := TCP(cfg.Addresses[:min(len(cfg.Addresses), 1)], cfg.RedirPort)
		if err != nil {
			l.Close()
			return nil, portError("--redirport", err)
		}
		l.Redirect = lns[0]
	}
	if cfg.MetricsAddress != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddress)
		if err != nil {
			l.Close()
			return nil, portError("--metrics-address", fmt.Errorf("--metrics-address: %w", err))
		}
		l.Metrics = ln
	}
	return l, nil
}

// Close closes every listener of l.
func (l *Listeners) Close() {
	for _, ln := range append(l.Service, l.Redirect, l.Metrics) {
		if ln != nil {
			ln.Close()
		}
	}
}

// Port returns the TCP port the service listens on, or 0 when it listens
// on unix sockets only.
func (l *Listeners) Port() int {
	for _, ln := range l.Service {
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			return a.Port
		}
	}
	return 0
}

// portError is the error of listening on the port of flag, err, put in
// a line that says what to do when the port is taken or needs privileges.
func portError(flag string, err error) error {
	var op *net.OpError
	if !errors.As(err, &op) {
		return err
	}
	addr, ok := op.Addr.(*net.TCPAddr)
	if !ok {
		return err
	}
	where := fmt.Sprintf("port %d", addr.Port)
	if addr.IP != nil && !addr.IP.IsUnspecified() {
		where += " on " + addr.IP.String()
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%s is already in use: choose another with %s", where, flag)
	case errors.Is(err, syscall.EACCES) && addr.Port < 1024:
		return fmt.Errorf("%s is reserved to privileged programs: choose one of 1024 or above with %s, or grant wsbridge CAP_NET_BIND_SERVICE", where, flag)
	}
	return err
}

// IsHostPort reports whether s is HOST:PORT with a TCP port, HOST possibly
// empty for every interface.
func IsHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}
