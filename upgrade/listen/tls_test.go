package listen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to the file name with mode.
func writeFile(t testing.TB, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// testCert is a certificate with its key, ready for crypto/tls.
type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

// newCert makes a certificate for tmpl, signed by parent, or self-signed
// when parent is nil.
func newCert(t *testing.T, tmpl *x509.Certificate, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: cert, key: key, der: der}
}

func newCA(t *testing.T, name string) *testCert {
	return newCert(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}, nil)
}

func newLeaf(t *testing.T, ca *testCert, name string, usage x509.ExtKeyUsage) *testCert {
	return newCert(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}, ca)
}

// writePEM writes the certificate and the key of c to files in dir and
// returns their paths.
func (c *testCert) writePEM(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(dir, name+".pem")
	keyFile = filepath.Join(dir, name+"-key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.der})), 0o600)
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), 0o600)
	return certFile, keyFile
}

func (c *testCert) tlsCert() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.der}, PrivateKey: c.key}
}

// testPKI is a CA with a server certificate for 127.0.0.1, both written to
// files, a client certificate from the CA and one from another CA.
type testPKI struct {
	ca                        *testCert
	roots                     *x509.CertPool
	certFile, keyFile, caFile string
	client, otherClient       *testCert
}

func newPKI(t *testing.T) *testPKI {
	dir := t.TempDir()
	p := &testPKI{ca: newCA(t, "test CA")}
	server := newLeaf(t, p.ca, "server", x509.ExtKeyUsageServerAuth)
	p.certFile, p.keyFile = server.writePEM(t, dir, "server")
	p.caFile, _ = p.ca.writePEM(t, dir, "ca")
	p.client = newLeaf(t, p.ca, "client", x509.ExtKeyUsageClientAuth)
	p.otherClient = newLeaf(t, newCA(t, "other CA"), "intruder", x509.ExtKeyUsageClientAuth)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.ca.cert)
	return p
}

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
	p := newPKI(t)
	cfg, _, err := LoadTLS(p.certFile, p.keyFile, "")
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
				RootCAs:    p.roots,
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
	p := newPKI(t)
	cfg, _, err := LoadTLS(p.certFile, p.keyFile, p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client *testCert
		max    uint16
		ok     bool
	}{
		{"good cert", p.client, 0, true},
		{"good cert TLS 1.2", p.client, tls.VersionTLS12, true},
		{"no cert", nil, 0, false},
		{"no cert TLS 1.2", nil, tls.VersionTLS12, false},
		{"other CA", p.otherClient, 0, false},
		{"other CA TLS 1.2", p.otherClient, tls.VersionTLS12, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := &tls.Config{RootCAs: p.roots, MaxVersion: tc.max}
			if tc.client != nil {
				client.Certificates = []tls.Certificate{tc.client.tlsCert()}
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
	p := newPKI(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	writeFile(t, garbage, "not a PEM file\n", 0o600)
	_, otherKey := newLeaf(t, p.ca, "other", x509.ExtKeyUsageServerAuth).writePEM(t, dir, "other")

	for _, tc := range []struct {
		name          string
		cert, key, ca string
		want          string
		notExist      bool
	}{
		{"missing cert", missing, p.keyFile, "", "--sslcert " + missing + ": open " + missing + ": ", true},
		{"missing key", p.certFile, missing, "", "--sslkey " + missing + ": open " + missing + ": ", true},
		{"missing CA", p.certFile, p.keyFile, missing, "--sslca " + missing + ": open " + missing + ": ", true},
		{"no cert given", "", p.keyFile, "", "--sslcert: no file given", false},
		{"no key given", p.certFile, "", "", "--sslkey: no file given", false},
		{"garbage cert", garbage, p.keyFile, "", "--sslcert " + garbage + ": no certificates found", false},
		{"key as cert", p.keyFile, p.keyFile, "", "--sslcert " + p.keyFile + ": no certificates found", false},
		{"garbage key", p.certFile, garbage, "", "--sslkey " + garbage + ": no private key found", false},
		{"cert as key", p.certFile, p.certFile, "", "--sslkey " + p.certFile + ": no private key found", false},
		{"key mismatch", p.certFile, otherKey, "", "--sslcert/--sslkey: tls: private key does not match public key", false},
		{"garbage CA", p.certFile, p.keyFile, garbage, "--sslca " + garbage + ": no certificates found", false},
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
	p := newPKI(t)
	cert, err := os.ReadFile(p.certFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(p.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	both := filepath.Join(t.TempDir(), "both.pem")
	writeFile(t, both, string(append(key, cert...)), 0o600)
	cfg, _, err := LoadTLS(both, both, "")
	if err != nil {
		t.Fatal(err)
	}
	_, serverErr, clientErr := handshake(t, cfg, &tls.Config{RootCAs: p.roots})
	if err := bothOK(serverErr, clientErr); err != nil {
		t.Fatalf("handshake: %v", err)
	}
}

func TestCertificateReload(t *testing.T) {
	p := newPKI(t)
	cfg, cert, err := LoadTLS(p.certFile, p.keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	served := func() string {
		t.Helper()
		state, serverErr, clientErr := handshake(t, cfg, &tls.Config{RootCAs: p.roots})
		if err := bothOK(serverErr, clientErr); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		return state.PeerCertificates[0].Subject.CommonName
	}
	if got := served(); got != "server" {
		t.Fatalf("served %q first", got)
	}
	dir := filepath.Dir(p.certFile)
	newLeaf(t, p.ca, "renewed", x509.ExtKeyUsageServerAuth).writePEM(t, dir, "server")
	if err := cert.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != "renewed" {
		t.Fatalf("served %q after a reload, want the renewed certificate", got)
	}
	// Files that cannot be used leave the renewed certificate in place.
	otherCert, _ := newLeaf(t, p.ca, "other", x509.ExtKeyUsageServerAuth).writePEM(t, t.TempDir(), "other")
	other, err := os.ReadFile(otherCert)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cert, want string }{
		{"not a PEM file\n", "--sslcert " + p.certFile + ": no certificates found"},
		{string(other), "--sslcert/--sslkey: tls: private key does not match public key"},
	} {
		writeFile(t, p.certFile, tc.cert, 0o600)
		if err := cert.Reload(); err == nil || err.Error() != tc.want {
			t.Errorf("reload: %v, want %q", err, tc.want)
		}
		if got := served(); got != "renewed" {
			t.Errorf("served %q after a failed reload, want the renewed certificate", got)
		}
	}
}
