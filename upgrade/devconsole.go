package upgrade

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"
)

//go:embed devconsole.html
var devConsoleHTML string

// devConsolePage is the page devConsole writes. html/template escapes every
// value put in it.
var devConsolePage = template.Must(template.New("devconsole").Parse(devConsoleHTML))

// devConsole writes the interactive page for the endpoint at r's path: a
// send box, a log of messages and connect/disconnect buttons. It talks to
// the WebSocket at the same URL (ws: or wss: as the page came).
//
// The page needs nothing from elsewhere. Its Content-Security-Policy lets
// only its own inline script and style run, and lets it connect only to
// WebSockets. Methods other than GET and HEAD are answered with 405.
func devConsole(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	nonce := newNonce()
	var page bytes.Buffer
	err := devConsolePage.Execute(&page, struct{ Path, Nonce string }{r.URL.Path, nonce})
	if err != nil {
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; "+
		"script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; "+
		"connect-src 'self' ws: wss:; "+
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.Write(page.Bytes())
}

// newNonce returns a fresh random value for a Content-Security-Policy
// nonce.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
