package listen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// handshake serves one TLS connection with server on 127.0.0.1 and
// connects to it with client, and returns the client's connection state
// and each end's error. The client's error is nil only if it read what the
// server wrote after its handshake.
func handshake(t *testing.T, server, client *tls.Config) (state tls.ConnectionState, serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serverDone := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverDone <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, server)
		if err := tc.Handshake(); err != nil {
			serverDone <- err
			return
		}
		_, err = tc.Write([]byte("ok"))
		tc.Close()
		serverDone <- err
	}()

	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: client}
	c, clientErr := d.Dial("tcp", ln.Addr().String())
	ln.Close() // so that the server gives up if the client never came
	if clientErr == nil {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var got []byte
		got, clientErr = io.ReadAll(c)
		if clientErr == nil && string(got) != "ok" {
			clientErr = errors.New("client read " + string(got))
		}
		state = c.(*tls.Conn).ConnectionState()
		c.Close()
	}
	return state, <-serverDone, clientErr
}

// bothOK returns the first error of a handshake, or nil.
func bothOK(serverErr, clientErr error) error {
	if serverErr != nil {
		return fmt.Errorf("server: %w", serverErr)
	}
	if clientErr != nil {
		return fmt.Errorf("client: %w", clientErr)
	}
	return nil
}

func TestLoadTLSHandshake(t *testing.T) {
	p := wstest.NewPKI(t)
	cfg, _, err := LoadTLS(p.CertFile, p.KeyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		min, max uint16
		want     uint16
	}{
		{"TLS 1.3", 0, 0, tls.VersionTLS13},
		{"TLS 1.2", 0, tls.VersionTLS12, tls.VersionTLS12},
		{"TLS 1.1", tls.VersionTLS10, tls.VersionTLS11, 0},
		{"TLS 1.0", tls.VersionTLS10, tls.VersionTLS10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, serverErr, clientErr := handshake(t, cfg, &tls.Config{
				RootCAs:    p.Pool,
				MinVersion: tc.min,
				MaxVersion: tc.max,
				NextProtos: []string{"h2", "http/1.1"},
			})
			if tc.want == 0 {
				// The server, not the client, must be the one to refuse.
				var op *net.OpError
				if serverErr == nil || !errors.As(clientErr, &op) || op.Op != "remote error" {
					t.Fatalf("server: %v; client: %v; want the server to refuse with an alert", serverErr, clientErr)
				}
				return
			}
			if err := bothOK(serverErr, clientErr); err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if state.Version != tc.want {
				t.Errorf("version %#x, want %#x", state.Version, tc.want)
			}
			if state.NegotiatedProtocol != "http/1.1" {
				t.Errorf("ALPN chose %q, want http/1.1", state.NegotiatedProtocol)
			}
		})
	}
}

func TestLoadTLSClientCA(t *testing.T) {
	p := wstest.NewPKI(t)
	other := wstest.NewPKI(t)
	cfg, _, err := LoadTLS(p.CertFile, p.KeyFile, p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client *tls.Certificate
		max    uint16
		ok     bool
	}{
		{"good cert", &p.Client, 0, true},
		{"good cert TLS 1.2", &p.Client, tls.VersionTLS12, true},
		{"no cert", nil, 0, false},
		{"no cert TLS 1.2", nil, tls.VersionTLS12, false},
		{"other CA", &other.Client, 0, false},
		{"other CA TLS 1.2", &other.Client, tls.VersionTLS12, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := &tls.Config{RootCAs: p.Pool, MaxVersion: tc.max}
			if tc.client != nil {
				client.Certificates = []tls.Certificate{*tc.client}
			}
			_, serverErr, clientErr := handshake(t, cfg, client)
			err := bothOK(serverErr, clientErr)
			if tc.ok && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("handshake succeeded")
			}
		})
	}
}

func TestLoadTLSErrors(t *testing.T) {
	p := wstest.NewPKI(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	proctest.WriteFile(t, garbage, "not a PEM file\n", 0o600)
	otherKey := wstest.NewPKI(t).KeyFile

	for _, tc := range []struct {
		name          string
		cert, key, ca string
		want          string
		notExist      bool
	}{
		{"missing cert", missing, p.KeyFile, "", "--sslcert " + missing + ": open " + missing + ": ", true},
		{"missing key", p.CertFile, missing, "", "--sslkey " + missing + ": open " + missing + ": ", true},
		{"missing CA", p.CertFile, p.KeyFile, missing, "--sslca " + missing + ": open " + missing + ": ", true},
		{"no cert given", "", p.KeyFile, "", "--sslcert: no file given", false},
		{"no key given", p.CertFile, "", "", "--sslkey: no file given", false},
		{"garbage cert", garbage, p.KeyFile, "", "--sslcert " + garbage + ": no certificates found", false},
		{"key as cert", p.KeyFile, p.KeyFile, "", "--sslcert " + p.KeyFile + ": no certificates found", false},
		{"garbage key", p.CertFile, garbage, "", "--sslkey " + garbage + ": no private key found", false},
		{"cert as key", p.CertFile, p.CertFile, "", "--sslkey " + p.CertFile + ": no private key found", false},
		{"key mismatch", p.CertFile, otherKey, "", "--sslcert/--sslkey: tls: private key does not match public key", false},
		{"garbage CA", p.CertFile, p.KeyFile, garbage, "--sslca " + garbage + ": no certificates found", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := LoadTLS(tc.cert, tc.key, tc.ca)
			if err == nil {
				t.Fatalf("LoadTLS succeeded: %v", cfg)
			}
			msg := err.Error()
			if tc.notExist {
				if !strings.HasPrefix(msg, tc.want) || !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("error %q, want %q followed by a not-exist error", msg, tc.want)
				}
			} else if msg != tc.want {
				t.Errorf("error %q, want %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans lines", msg)
			}
		})
	}
}

func TestLoadTLSCombinedFile(t *testing.T) {
	p := wstest.NewPKI(t)
	cert, err := os.ReadFile(p.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(p.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	both := filepath.Join(t.TempDir(), "both.pem")
	proctest.WriteFile(t, both, string(append(key, cert...)), 0o600)
	cfg, _, err := LoadTLS(both, both, "")
	if err != nil {
		t.Fatal(err)
	}
	_, serverErr, clientErr := handshake(t, cfg, &tls.Config{RootCAs: p.Pool})
	if err := bothOK(serverErr, clientErr); err != nil {
		t.Fatalf("handshake: %v", err)
	}
}

func TestCertificateReload(t *testing.T) {
	p := wstest.NewPKI(t)
	cfg, cert, err := LoadTLS(p.CertFile, p.KeyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	// servedFrom checks that the certificate served is one that q issued.
	servedFrom := func(q *wstest.PKI) error {
		_, serverErr, clientErr := handshake(t, cfg, &tls.Config{RootCAs: q.Pool})
		return bothOK(serverErr, clientErr)
	}
	if err := servedFrom(p); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	renewed := wstest.NewPKI(t)
	for from, to := range map[string]string{renewed.CertFile: p.CertFile, renewed.KeyFile: p.KeyFile} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		proctest.WriteFile(t, to, string(b), 0o600)
	}
	if err := cert.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := servedFrom(renewed); err != nil {
		t.Fatalf("after a reload, not the renewed certificate: %v", err)
	}
	// Files that cannot be used leave the renewed certificate in place.
	other, err := os.ReadFile(wstest.NewPKI(t).CertFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cert, want string }{
		{"not a PEM file\n", "--sslcert " + p.CertFile + ": no certificates found"},
		{string(other), "--sslcert/--sslkey: tls: private key does not match public key"},
	} {
		proctest.WriteFile(t, p.CertFile, tc.cert, 0o600)
		if err := cert.Reload(); err == nil || err.Error() != tc.want {
			t.Errorf("reload: %v, want %q", err, tc.want)
		}
		if err := servedFrom(renewed); err != nil {
			t.Errorf("after a failed reload, not the renewed certificate: %v", err)
		}
	}
}
