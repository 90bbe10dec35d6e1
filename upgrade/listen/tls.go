package listen

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// LoadTLS returns the server's TLS configuration for --ssl: the certificate
// and key from certFile and keyFile, TLS 1.2 at least, and the Certificate
// whose Reload reads them again. With caFile set, every client must present
// a certificate signed by a CA in that PEM file (mutual TLS).
//
// The configuration offers only HTTP/1.1 through ALPN, since a WebSocket
// upgrade takes over an HTTP/1.1 connection.
func LoadTLS(certFile, keyFile, caFile string) (*tls.Config, *Certificate, error) {
	cert := &Certificate{certFile: certFile, keyFile: keyFile}
	if err := cert.Reload(); err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		GetCertificate: cert.get,
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
	}
	if caFile != "" {
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--sslca %s: %w", caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, nil, fmt.Errorf("--sslca %s: no certificates found", caFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, cert, nil
}

// A Certificate is the server's certificate and key, read from their
// files. Each new TLS connection gets the last that loaded.
type Certificate struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

// Reload reads the certificate and key files again, for the connections
// made from then on. If they cannot be used, the error names the file and
// the certificate loaded before stays.
func (c *Certificate) Reload() error {
	certPEM, err := readPEM("--sslcert", c.certFile, isCertificate, "no certificates found")
	if err != nil {
		return err
	}
	keyPEM, err := readPEM("--sslkey", c.keyFile, isPrivateKey, "no private key found")
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("--sslcert/--sslkey: %w", err)
	}
	c.current.Store(&cert)
	return nil
}

// get returns the certificate for a new connection.
func (c *Certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}

// readPEM reads the file given to flag and checks that it holds a PEM
// block for which want is true, so that a wrong file is named in the error.
func readPEM(flag, file string, want func(*pem.Block) bool, missing string) ([]byte, error) {
	if file == "" {
		return nil, errors.New(flag + ": no file given")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, file, err)
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%s %s: %s", flag, file, missing)
		}
		if want(b) {
			return data, nil
		}
	}
}

func isCertificate(b *pem.Block) bool { return b.Type == "CERTIFICATE" }

func isPrivateKey(b *pem.Block) bool {
	return b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY")
}
