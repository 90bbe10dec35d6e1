#!/usr/bin/env python3
# greet.py: a CGI program beside a WebSocket program, both at one URL. A GET gets a page
# with a form; the form's POST is answered here with "Hello, NAME!"; the page's socket
# box connects to the same URL, where wsbridge runs examples/greeter.py, which answers the
# same way line by line.
#
# Run: go run . --port=8080 --cgidir=examples/cgi-bin examples/greeter.py
#
# then open http://localhost:8080/greet.py (needs Python 3). Plain requests go to the
# --cgidir program their path names; upgrades, whatever their path, to the COMMAND.

import html
import os
import sys
import urllib.parse

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>greet.py</title>
</head>
<body>
<h1>A form and a socket</h1>
<p id="greeting">{greeting}</p>
<form method="post">
  <input name="name" aria-label="Name" placeholder="Your name">
  <button id="post">Post the form</button>
</form>
<form id="socket-form">
  <input id="socket-name" aria-label="Name for the socket" placeholder="Your name">
  <button id="socket-send" disabled>Send on the socket</button>
</form>
<p id="reply"></p>
<script>
"use strict";
// The socket's URL is this page's, in ws: or wss:, so it works behind a proxy's prefix.
const url = new URL(location.pathname, location.href);
url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
const ws = new WebSocket(url.href);
const send = document.getElementById("socket-send");
ws.onopen = () => (send.disabled = false);
ws.onmessage = (e) => (document.getElementById("reply").textContent = e.data);
ws.onclose = () => (send.disabled = true);
document.getElementById("socket-form").addEventListener("submit", (event) => {{
  event.preventDefault();
  ws.send(document.getElementById("socket-name").value);
}});
</script>
</body>
</html>
"""


def respond(status, greeting="", headers=""):
    """Writes the CGI answer: a status, the headers, then the page."""
    body = PAGE.format(greeting=html.escape(greeting)).encode("utf-8")
    out = sys.stdout.buffer
    out.write(f"Status: {status}\r\n{headers}".encode())
    out.write(b"Content-Type: text/html; charset=utf-8\r\n")
    out.write(f"Content-Length: {len(body)}\r\n\r\n".encode())
    out.write(body)


def main():
    method = os.environ.get("REQUEST_METHOD", "GET")
    if method in ("GET", "HEAD"):
        respond("200 OK")
    elif method == "POST":
        # The form's fields are the request body: CONTENT_LENGTH bytes on stdin.
        length = int(os.environ.get("CONTENT_LENGTH") or 0)
        form = urllib.parse.parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))
        name = form.get("name", [""])[0].strip() or "stranger"
        respond("200 OK", f"Hello, {name}!")
    else:
        respond("405 Method Not Allowed", f"{method} is not served here.", "Allow: GET, HEAD, POST\r\n")


if __name__ == "__main__":
    main()
