package upgrade

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestReadCGIResponse(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		status    int
		header    http.Header
		body      string
		err       string
	}{
		{"plain", "Content-Type: text/plain\n\nhello\n", 200, http.Header{"Content-Type": {"text/plain"}}, "hello\n", ""},
		{"crlf", "Content-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody", 200, http.Header{"Content-Type": {"text/plain"}, "X-A": {"1", "2"}}, "body", ""},
		{"status", "Status: 404 Not Found\nContent-Type: text/plain\n\nno", 404, http.Header{"Content-Type": {"text/plain"}}, "no", ""},
		{"status alone", "status: 204\n\n", 204, http.Header{}, "", ""},
		{"location", "Location: /elsewhere\n\n", 302, http.Header{"Location": {"/elsewhere"}}, "", ""},
		{"location with status", "Status: 301\nLocation: http://example.com/\n\n", 301, http.Header{"Location": {"http://example.com/"}}, "", ""},
		{"empty", "", 0, nil, "", "no header ended by a blank line"},
		{"no blank line", "Content-Type: text/plain\n", 0, nil, "", "no header ended by a blank line"},
		{"blank line only", "\nbody", 0, nil, "", "no header"},
		{"no content type", "X-A: 1\n\n", 0, nil, "", "no Content-Type, Status or Location header"},
		{"bad status", "Status: abc\nContent-Type: text/plain\n\n", 0, nil, "", `bad Status "abc"`},
		{"short status", "Status: 20\n\n", 0, nil, "", `bad Status "20"`},
		{"status out of range", "Status: 099 x\n\n", 0, nil, "", `bad Status "099 x"`},
		{"status 1xx", "Status: 101 Switching Protocols\n\n", 0, nil, "", `bad Status`},
		{"malformed line", "Content-Type: text/plain\nnot a header\n\n", 0, nil, "", "malformed MIME header"},
		{"too long", "Content-Type: text/plain\nX: " + strings.Repeat("x", maxCGIHeaderBytes) + "\n\n", 0, nil, "", "longer than"},
	} {
		resp, err := readCGIResponse(strings.NewReader(tc.out))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		body, _ := io.ReadAll(resp.body)
		if resp.status != tc.status || !equalHeader(resp.header, tc.header) || string(body) != tc.body {
			t.Errorf("%s: %d %v %q, want %d %v %q", tc.name, resp.status, resp.header, body, tc.status, tc.header, tc.body)
		}
	}
}

func TestReadCGIResponseLongBody(t *testing.T) {
	// Only the header is bounded.
	body := strings.Repeat("x", 3*maxCGIHeaderBytes)
	resp, err := readCGIResponse(strings.NewReader("Content-Type: text/plain\n\n" + body))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(resp.body); string(got) != body {
		t.Errorf("body of %d bytes, want %d", len(got), len(body))
	}
}

// equalHeader reports whether a and b hold the same fields.
func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}
