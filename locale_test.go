package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/coder/websocket"
)

func TestPassedEnvGivesALocale(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     map[string]string
		passenv []string
		want    []string
	}{
		{"none set", map[string]string{"LANG": "", "LC_ALL": "", "LC_CTYPE": ""}, []string{"WSB_A"},
			[]string{"WSB_A=a", "LANG=C.UTF-8"}},
		{"LANG set", map[string]string{"LANG": "fr_FR.UTF-8", "LC_ALL": "", "LC_CTYPE": ""}, []string{"WSB_A"},
			[]string{"WSB_A=a", "LANG=fr_FR.UTF-8"}},
		{"LC_CTYPE alone", map[string]string{"LANG": "", "LC_ALL": "", "LC_CTYPE": "C"}, []string{"WSB_A"},
			[]string{"WSB_A=a", "LC_CTYPE=C"}},
		{"all three", map[string]string{"LANG": "C", "LC_ALL": "C.UTF-8", "LC_CTYPE": "C"}, nil,
			[]string{"LANG=C", "LC_ALL=C.UTF-8", "LC_CTYPE=C"}},
		{"named by --passenv", map[string]string{"LANG": "", "LC_ALL": "de_DE.UTF-8", "LC_CTYPE": ""}, []string{"LC_ALL", "WSB_A"},
			[]string{"LC_ALL=de_DE.UTF-8", "WSB_A=a"}},
		{"named by --passenv but empty", map[string]string{"LANG": "", "LC_ALL": "", "LC_CTYPE": ""}, []string{"LANG"},
			[]string{"LANG=C.UTF-8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("WSB_A", "a")
			for k, v := range tc.set {
				t.Setenv(k, v)
			}
			if got := passedEnv(tc.passenv); !slices.Equal(got, tc.want) {
				t.Errorf("passedEnv(%q) = %q, want %q", tc.passenv, got, tc.want)
			}
		})
	}
}

// noLocale unsets, for wsbridge, every variable that chooses a locale: an
// empty variable is not passed on.
var noLocale = []string{"LANG=", "LC_ALL=", "LC_CTYPE="}

func TestProgramsGetUTF8Locale(t *testing.T) {
	// rev in the C locale fails on the first byte that is not ASCII.
	s := startServerEnv(t, noLocale, "--address=127.0.0.1", "--port=0", "rev")
	c := s.dial("/")
	send(t, c, websocket.MessageText, "café au lait")
	expect(t, c, websocket.MessageText, "tial ua éfac")
}

func TestLocaleOfServerIsPassed(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "locale.cgi"), `printf 'Content-Type: text/plain\n\n%s|%s|%s\n' "$LANG" "${LC_ALL-unset}" "${LC_CTYPE-unset}"`)
	env := append(noLocale, "LANG=fr_FR.UTF-8")
	s := startServerEnv(t, env, "--address=127.0.0.1", "--port=0", "--cgidir="+dir, "sh", "-c", `echo "$LANG|${LC_ALL-unset}|${LC_CTYPE-unset}"`)
	expect(t, s.dial("/"), websocket.MessageText, "fr_FR.UTF-8|unset|unset")
	if status, body := scrape(t, s.addr, "/locale.cgi"); status != 200 || body != "fr_FR.UTF-8|unset|unset\n" {
		t.Errorf("CGI program: %d %q", status, body)
	}
}
