package upgrade

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/textproto"
	"strconv"
)

// maxCGIHeaderBytes bounds the header block a CGI program may print, as
// http.DefaultMaxHeaderBytes bounds a client's.
const maxCGIHeaderBytes = http.DefaultMaxHeaderBytes

// cgiResponse is the answer a CGI program printed: its header block
// parsed, and the rest, its body, still to be read.
type cgiResponse struct {
	status int
	header http.Header
	body   *bufio.Reader
}

// readCGIResponse reads the header block of a CGI program's output
// (RFC 3875 §6), up to the blank line that ends it, and returns the
// response it describes, the way net/http/cgi reads it: a Status header
// gives the status and is not passed on; a Location header without one
// is a 302 (a local path included: it is sent to the client, not
// followed); otherwise, with no Status, there must be a Content-Type and
// the status is 200. The error says what is wrong with an output that is
// no CGI response: no header, a malformed line, a bad Status, or a block
// larger than maxCGIHeaderBytes.
func readCGIResponse(out io.Reader) (*cgiResponse, error) {
	lr := &io.LimitedReader{R: out, N: maxCGIHeaderBytes}
	br := bufio.NewReader(lr)
	mh, err := textproto.NewReader(br).ReadMIMEHeader()
	switch {
	case err != nil && lr.N == 0:
		return nil, fmt.Errorf("the header is longer than %d bytes", maxCGIHeaderBytes)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, errors.New("no header ended by a blank line")
	case err != nil:
		return nil, err
	case len(mh) == 0:
		return nil, errors.New("no header")
	}
	lr.N = math.MaxInt64
	h := http.Header(mh)
	resp := &cgiResponse{header: h, body: br}
	if status := h.Get("Status"); status != "" {
		code, err := strconv.Atoi(status[:min(3, len(status))])
		if err != nil || code < 200 || code > 599 {
			return nil, fmt.Errorf("bad Status %q: want a code from 200 to 599", status)
		}
		resp.status = code
		h.Del("Status")
	}
	if resp.status == 0 {
		switch {
		case h.Get("Location") != "":
			resp.status = http.StatusFound
		case h.Get("Content-Type") == "":
			return nil, errors.New("no Content-Type, Status or Location header")
		default:
			resp.status = http.StatusOK
		}
	}
	return resp, nil
}

// bodyAllowed reports whether an answer with status may have a body.
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}
