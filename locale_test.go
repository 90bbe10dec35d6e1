package main_test

import (
	"path/filepath"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

// noLocale unsets, for wsbridge, every variable that chooses a locale: an
// empty variable is not passed on.
var noLocale = []string{"LANG=", "LC_ALL=", "LC_CTYPE="}

func TestProgramsGetUTF8Locale(t *testing.T) {
	// rev in the C locale fails on the first byte that is not ASCII.
	s := startServerEnv(t, noLocale, "--address=127.0.0.1", "--port=0", "rev")
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "café au lait")
	wstest.Expect(t, c, websocket.MessageText, "tial ua éfac")
}

func TestLocaleOfServerIsPassed(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "locale.cgi"), `printf 'Content-Type: text/plain\n\n%s|%s|%s\n' "$LANG" "${LC_ALL-unset}" "${LC_CTYPE-unset}"`)
	env := append(noLocale, "LANG=fr_FR.UTF-8")
	s := startServerEnv(t, env, "--address=127.0.0.1", "--port=0", "--cgidir="+dir, "sh", "-c", `echo "$LANG|${LC_ALL-unset}|${LC_CTYPE-unset}"`)
	wstest.Expect(t, s.dial("/"), websocket.MessageText, "fr_FR.UTF-8|unset|unset")
	if status, body := httpGet(t, s.addr, "/locale.cgi"); status != 200 || body != "fr_FR.UTF-8|unset|unset\n" {
		t.Errorf("CGI program: %d %q", status, body)
	}
}
