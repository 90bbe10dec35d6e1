package upgrade

import (
	"log"
	"strings"

	"github.com/rs/zerolog"
)

// newErrorLog routes net/http's own complaints (TLS handshake errors,
// accept errors) to the server log.
func newErrorLog(l zerolog.Logger) *log.Logger {
	return log.New(errorWriter{l}, "", 0)
}

type errorWriter struct{ l zerolog.Logger }

func (w errorWriter) Write(p []byte) (int, error) {
	w.l.Error().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
