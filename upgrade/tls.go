package upgrade

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// LoadTLS returns the server's TLS configuration for --ssl: the certificate
// and key from certFile and keyFile, TLS 1.2 at least. With caFile set,
// every client must present a certificate signed by a CA in that PEM file
// (mutual TLS).
//
// The configuration offers only HTTP/1.1 through ALPN, since a WebSocket
// upgrade takes over an HTTP/1.1 connection.
func LoadTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	certPEM, err := readPEM("--sslcert", certFile, isCertificate, "no certificates found")
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEM("--sslkey", keyFile, isPrivateKey, "no private key found")
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--sslcert/--sslkey: %w", err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
	if caFile != "" {
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--sslca %s: %w", caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("--sslca %s: no certificates found", caFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
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
