package upgrade

import (
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseOriginsErrors(t *testing.T) {
	for _, bad := range []string{"ftp://example.com", "http://", "example.com/path", "user@example.com"} {
		if _, err := parseOrigins([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAllowedOrigin(t *testing.T) {
	patterns, err := parseOrigins([]string{"example.com", "https://secure.example.com", "dev.example.com:3000", "[::1]:8080"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{"http://example.com", true},
		{"https://example.com:8443", true}, // no port = any port, no scheme = http or https
		{"HTTP://EXAMPLE.COM", true},
		{"http://evil.com", false},
		{"http://example.com.evil.com", false},
		{"https://secure.example.com", true},
		{"http://secure.example.com", false}, // scheme given
		{"http://dev.example.com:3000", true},
		{"http://dev.example.com", false}, // port given: 80 is not 3000
		{"http://[::1]:8080", true},
		{"null", false},
		{"file://example.com", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if why := allowedOrigin(r, patterns, false); (why == "") != tc.ok {
			t.Errorf("Origin %q: refusal %q, want allowed=%v", tc.origin, why, tc.ok)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		host, origin string
		tls          bool
		ok           bool
	}{
		{"example.com:8080", "http://example.com:8080", false, true},
		{"example.com:8080", "http://example.com:9090", false, false},
		{"example.com", "http://example.com", false, true},
		{"example.com", "https://example.com", true, true},
		{"example.com", "http://example.com", true, false}, // 80 is not 443
		{"Example.COM:8080", "http://example.com:8080", false, true},
		{"example.com:8080", "http://other.com:8080", false, false},
		{"[::1]:8080", "http://[::1]:8080", false, true},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tc.host
		r.Header.Set("Origin", tc.origin)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if why := allowedOrigin(r, nil, true); (why == "") != tc.ok {
			t.Errorf("Host %q, Origin %q: refusal %q, want allowed=%v", tc.host, tc.origin, why, tc.ok)
		}
	}
}

func TestSameOriginSentTo(t *testing.T) {
	// Behind a trusted proxy, the Origin is compared with where the
	// client connected, not with the proxy's connection.
	to := origin{"https", "Public.Example", "443"}
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"https://public.example", true},
		{"https://public.example:443", true},
		{"http://public.example", false}, // 80 is not 443
		{"https://127.0.0.1:8081", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = "127.0.0.1:8081"
		r.Header.Set("Origin", tc.origin)
		why := allowedOrigin(withSentTo(r, to), nil, true)
		if (why == "") != tc.ok {
			t.Errorf("Origin %q: refusal %q, want allowed=%v", tc.origin, why, tc.ok)
		}
		if why != "" && !strings.Contains(why, `"Public.Example:443"`) {
			t.Errorf("Origin %q: the refusal %q does not say where the client connected", tc.origin, why)
		}
	}
}
