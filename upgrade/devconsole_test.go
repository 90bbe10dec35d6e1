package upgrade

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestDevConsole(t *testing.T) {
	w := httptest.NewRecorder()
	devConsole(w, httptest.NewRequest("GET", "/chat/room?name=x", nil))
	resp := w.Result()
	body := w.Body.String()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, want := range []string{
		`<title>/chat/room – wsbridge console</title>`,
		`<h1>/chat/room</h1>`,
		`id="message"`,
		`id="send"`,
		`id="connect"`,
		`id="disconnect"`,
		`id="log"`,
		`location.pathname + location.search`,
		`e.code`,
		`e.reason`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in the page", want)
		}
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "http://", "https://", "src="} {
		if strings.Contains(body, banned) {
			t.Errorf("the page holds %q", banned)
		}
	}

	// The policy lets run only the page's own script and style, marked
	// with a fresh nonce.
	csp := resp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]{16,})'`).FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("Content-Security-Policy %q", csp)
	}
	nonce := m[1]
	for _, want := range []string{"default-src 'none'", "style-src 'nonce-" + nonce + "'", "connect-src 'self' ws: wss:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("no %q in Content-Security-Policy %q", want, csp)
		}
	}
	if n := strings.Count(body, `nonce="`+nonce+`"`); n != 2 {
		t.Errorf("%d elements carry the nonce, want 2 (script and style)", n)
	}
	if n := strings.Count(body, "<script"); n != 1 {
		t.Errorf("%d script elements", n)
	}
	w2 := httptest.NewRecorder()
	devConsole(w2, httptest.NewRequest("GET", "/chat/room", nil))
	if strings.Contains(w2.Header().Get("Content-Security-Policy"), nonce) {
		t.Error("the nonce was used twice")
	}
}

func TestDevConsoleEscapesPath(t *testing.T) {
	for _, path := range []string{
		"/%3Cscript%3Ealert(1)%3C/script%3E",
		"/%3C/title%3E%3Cscript%3Ealert(1)%3C/script%3E",
		"/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
	} {
		w := httptest.NewRecorder()
		devConsole(w, httptest.NewRequest("GET", path, nil))
		body := w.Body.String()
		if w.Code != 200 {
			t.Fatalf("%s: status %d", path, w.Code)
		}
		for _, raw := range []string{"<script>alert", "</title><script", "<img", "alert(1)</"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s: the page holds %q unescaped", path, raw)
			}
		}
	}
	w := httptest.NewRecorder()
	devConsole(w, httptest.NewRequest("GET", "/%3Cscript%3Ealert(1)%3C/script%3E", nil))
	if want := "<h1>/&lt;script&gt;alert(1)&lt;/script&gt;</h1>"; !strings.Contains(w.Body.String(), want) {
		t.Errorf("no %q in the page", want)
	}
}

func TestDevConsoleMethods(t *testing.T) {
	w := httptest.NewRecorder()
	devConsole(w, httptest.NewRequest("HEAD", "/", nil))
	if w.Code != 200 {
		t.Errorf("HEAD: status %d", w.Code)
	}
	w = httptest.NewRecorder()
	devConsole(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}
