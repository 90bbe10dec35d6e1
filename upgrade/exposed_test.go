package upgrade

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestWarnsWhenOpenToAnyPage(t *testing.T) {
	const warning = "listening beyond loopback with no --origin, --sameorigin or authentication: any web page a browser visits can drive the program"
	users := htpasswdFile(t, "", "ann", "secret")
	for _, tc := range []struct {
		name string
		ip   string
		cfg  func(*Config)
		warn bool
	}{
		{"all interfaces", "0.0.0.0", func(*Config) {}, true},
		{"a public address", "192.0.2.7", func(*Config) {}, true},
		{"loopback", "127.0.0.1", func(*Config) {}, false},
		{"IPv6 loopback", "::1", func(*Config) {}, false},
		{"--origin", "0.0.0.0", func(c *Config) { c.Origins = []string{"example.com"} }, false},
		{"--sameorigin", "0.0.0.0", func(c *Config) { c.SameOrigin = true }, false},
		{"--basic-auth-file", "0.0.0.0", func(c *Config) { c.BasicAuthFile = users }, false},
		{"--auth-header", "0.0.0.0", func(c *Config) { c.AuthHeader = "X-User"; c.TrustedProxies = []string{"127.0.0.1"} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			cfg := catConfig()
			cfg.Log = zerolog.New(logs)
			tc.cfg(&cfg)
			srv, err := NewServer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(seenAt(ln, tc.ip)) }()
			// Serve logs before it accepts: once a request is
			// answered, the warning is there or will never be.
			conn, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
			if err == nil {
				conn.Write([]byte("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				conn.Read(make([]byte, 1))
				conn.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
			<-served
			warned := logs.events(warning)
			if tc.warn != (len(warned) == 1) {
				t.Fatalf("warnings %v, want %v", warned, tc.warn)
			}
			if tc.warn && warned[0]["level"] != "warn" {
				t.Errorf("level %v", warned[0]["level"])
			}
		})
	}
}
