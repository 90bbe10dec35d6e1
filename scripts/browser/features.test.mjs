// End-to-end tests of the features a browser is the natural client of, as
// headless Chromium uses them against a real wsbridge: permessage-deflate
// (--compress), subprotocols (--protocol), one program shared by many
// clients (--broadcast), HTTP Basic authentication (--basic-auth-file), and
// a page beside its programs on one port (examples/site).
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer as createHTTPServer, request } from "node:http";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import {
  artifacts,
  context,
  logText,
  newContext,
  openConsole,
  openDevConsole,
  pageURL,
  repo,
  send,
  setup,
  startServer,
  tmp,
  wait,
  waitForLine,
} from "./harness.mjs";

setup();

// openSocket opens a WebSocket to url from page, offering protocols, and
// resolves once it is open with what was agreed, or once it has closed
// without opening with how it closed. The page keeps the socket as
// window.ws and the messages it receives in window.received.
function openSocket(page, url, protocols) {
  return page.evaluate(
    ([url, protocols]) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url, protocols);
        window.ws = ws;
        window.received = [];
        let error = false;
        ws.onmessage = (e) => window.received.push(e.data);
        ws.onerror = () => (error = true);
        ws.onopen = () => resolve({ open: true, extensions: ws.extensions, protocol: ws.protocol });
        ws.onclose = (e) => resolve({ open: false, error, code: e.code, wasClean: e.wasClean });
      }),
    [url, protocols],
  );
}

// received waits until the page's socket has received n messages and
// returns them; if it does not, the error says what came instead.
async function received(page, n) {
  try {
    await page.waitForFunction((n) => window.received.length >= n, n, { timeout: wait });
  } catch (err) {
    const got = await page.evaluate(() => window.received.map((m) => (m.length > 80 ? `${m.slice(0, 80)}... (${m.length} bytes)` : m)));
    err.message += `\nexpected ${n} messages, received ${got.length}: ${JSON.stringify(got)}`;
    throw err;
  }
  return page.evaluate(() => window.received);
}

// closeSocket closes the page's socket with 1000 and resolves with the code
// the close ended with.
function closeSocket(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        window.ws.onclose = (e) => resolve(e.code);
        window.ws.close(1000, "bye");
      }),
  );
}

// relay forwards the connections made to a port of its own to address and
// counts the bytes that pass each way, to see what goes over the wire.
async function relay(t, address) {
  const target = new URL(`http://${address}`);
  const bytes = { up: 0, down: 0 };
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    client.on("data", (b) => (bytes.up += b.length));
    upstream.on("data", (b) => (bytes.down += b.length));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { url: `ws://127.0.0.1:${server.address().port}/`, bytes };
}

// A message of 100 KB of JSON records much alike, on one line: deflate
// shrinks it to a small part of its size.
const record = (i) => ({ id: i, user: "ann", text: "the same words, said again and again", ok: true });
const big = JSON.stringify(Array.from({ length: 1300 }, (_, i) => record(i)));

test("--compress: Chromium gets permessage-deflate, and 100 KB of JSON goes both ways deflated", { timeout: 20000 }, async (t) => {
  assert.ok(big.length > 100000, `the message is ${big.length} bytes`);
  const server = await startServer(t, ["--compress", "cat"]);
  const wire = await relay(t, server.address);
  const page = await context.newPage();
  t.after(() => page.close());

  const socket = await openSocket(page, wire.url);
  assert.equal(socket.open, true, `the socket did not open: ${JSON.stringify(socket)}`);
  // Each message deflated on its own: neither side keeps a dictionary.
  const params = socket.extensions.split(/\s*;\s*/);
  assert.deepEqual(params.toSorted(), ["client_no_context_takeover", "permessage-deflate", "server_no_context_takeover"], `ws.extensions is ${JSON.stringify(socket.extensions)}`);

  await page.evaluate((m) => window.ws.send(m), big);
  const [echo] = await received(page, 1);
  assert.equal(echo.length, big.length, "the message comes back whole");
  assert.ok(echo === big, "the message comes back as it was sent");
  assert.equal(await closeSocket(page), 1000);

  // What crossed the wire, the handshake included, is a small part of the
  // message each way: the browser deflated what it sent, wsbridge what it
  // sent back.
  assert.ok(wire.bytes.up < big.length / 10, `${wire.bytes.up} bytes from the browser for a message of ${big.length}`);
  assert.ok(wire.bytes.down < big.length / 10, `${wire.bytes.down} bytes to the browser for a message of ${big.length}`);
  const gone = await server.waitForLog((e) => e.message === "disconnected");
  // The log counts the bytes of the messages, not of the wire.
  assert.equal(gone.bytes_in, big.length);
  assert.equal(gone.bytes_out, big.length);
  assert.equal(await server.stop(), 0);
});

test("without --compress: no extension, and 100 KB of JSON goes both ways as it is", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["cat"]);
  const wire = await relay(t, server.address);
  const page = await context.newPage();
  t.after(() => page.close());

  const socket = await openSocket(page, wire.url);
  assert.deepEqual(socket, { open: true, extensions: "", protocol: "" });
  await page.evaluate((m) => window.ws.send(m), big);
  const [echo] = await received(page, 1);
  assert.ok(echo === big, `the message comes back as it was sent (${echo.length} bytes of ${big.length})`);
  assert.equal(await closeSocket(page), 1000);
  assert.ok(wire.bytes.up > big.length, `${wire.bytes.up} bytes from the browser for a message of ${big.length}`);
  assert.ok(wire.bytes.down > big.length, `${wire.bytes.down} bytes to the browser for a message of ${big.length}`);
  assert.equal(await server.stop(), 0);
});

test("--protocol: a page gets the first protocol it offers that is served, and one offering only others cannot connect", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["--protocol=chat.v2,chat.v1", "sh", "-c", 'echo "protocol=$WEBSOCKET_PROTOCOL"; exec cat']);
  const page = await context.newPage();
  t.after(() => page.close());
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));

  // The page's order decides, not the server's.
  assert.deepEqual(await openSocket(page, server.url, ["chat.v1", "chat.v2"]), { open: true, extensions: "", protocol: "chat.v1" });
  assert.deepEqual(await received(page, 1), ["protocol=chat.v1"], "the program's first line is its WEBSOCKET_PROTOCOL");
  await page.evaluate(() => window.ws.send("hello"));
  assert.deepEqual(await received(page, 2), ["protocol=chat.v1", "hello"]);
  assert.equal(await closeSocket(page), 1000);

  // A page that offers none is let in with none.
  assert.deepEqual(await openSocket(page, server.url), { open: true, extensions: "", protocol: "" });
  assert.deepEqual(await received(page, 1), ["protocol="]);
  assert.equal(await closeSocket(page), 1000);
  assert.deepEqual(consoleErrors, []);

  // A page offering only others is refused with 400, which the page sees
  // as a failed connection: an error, then close code 1006.
  assert.deepEqual(await openSocket(page, server.url, ["other"]), { open: false, error: true, code: 1006, wasClean: false });
  const refused = await server.waitForLog((e) => e.message === "refused");
  assert.equal(refused.status, 400);
  assert.equal(refused.reason, 'no subprotocol offered is served: "other"');
  assert.equal(consoleErrors.length, 1, `console errors: ${JSON.stringify(consoleErrors)}`);
  assert.match(consoleErrors[0], /\b400\b/, "the browser's console names the status");
  assert.equal(await server.stop(), 0);
});

test("--broadcast: examples/chat.sh shows what one page says in both", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["--broadcast", join(repo, "examples", "chat.sh")]);
  const room = server.url + "lobby";
  // said matches a line of the room: the time, then what was said.
  const said = (text) => new RegExp(`^← \\d\\d:\\d\\d:\\d\\d ${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);

  // Ann is in the room before Bob comes: what she said then is not his.
  const ann = await openConsole(await newContext(t), room);
  await send(ann, "anyone here?");
  await waitForLine(ann, "received", said("anyone here?"));
  const bob = await openConsole(await newContext(t), room);

  await send(bob, "hi Ann");
  await waitForLine(bob, "received", said("hi Ann"));
  await waitForLine(ann, "received", said("hi Ann"));
  await send(ann, "hi Bob");
  await waitForLine(ann, "received", said("hi Bob"));
  await waitForLine(bob, "received", said("hi Bob"));
  await ann.screenshot({ path: join(artifacts, "broadcast-ann.png") });
  await bob.screenshot({ path: join(artifacts, "broadcast-bob.png") });

  const shown = async (page) => (await logText(page)).map((l) => l.replace(/^← \d\d:\d\d:\d\d /, "← "));
  assert.deepEqual(await shown(ann), [`connecting to ${room}`, "connected", "→ anyone here?", "← anyone here?", "← hi Ann", "→ hi Bob", "← hi Bob"]);
  assert.deepEqual(await shown(bob), [`connecting to ${room}`, "connected", "→ hi Ann", "← hi Ann", "← hi Bob"]);

  // One program serves both.
  const connected = server.log.filter((e) => e.message === "connected");
  assert.equal(connected.length, 2, server.logText());
  assert.equal(connected[0].pid, connected[1].pid, "both pages share one program");

  // It ends with the last page to leave.
  await ann.locator("#disconnect").click();
  await waitForLine(ann, "info", "closed: code 1000, reason: bye");
  await send(bob, "still here");
  await waitForLine(bob, "received", said("still here"));
  await bob.locator("#disconnect").click();
  await waitForLine(bob, "info", "closed: code 1000, reason: bye");
  const ended = await server.waitForLog((e) => e.message === "broadcast program ended");
  assert.equal(ended.pid, connected[0].pid);
  assert.equal(await server.stop(), 0);
});

// openConsoleFailing opens examples/index.html from disk in ctx, connects
// it to url and waits for the connection to fail.
async function openConsoleFailing(ctx, url) {
  const page = await ctx.newPage();
  await page.goto(pageURL);
  await page.locator("#url").fill(url);
  await page.locator("#connect").click();
  await waitForLine(page, "error", "closed: code 1006");
  assert.deepEqual(await logText(page), [`connecting to ${url}`, "connection error", "closed: code 1006"]);
  return page;
}

// users is an htpasswd file: ann's password is "open sesame", hashed with
// bcrypt at its lowest cost.
const users = "ann:$2a$04$4wl7lzgjlke/4AeOtk62m.W5epza8kgTyax56eKgYFWJZX7jGvLDC\n";

test("--basic-auth-file: the dev console opens with a user and password, and its WebSocket is let in as that user", { timeout: 20000 }, async (t) => {
  const file = join(tmp, "users");
  writeFileSync(file, users);
  const server = await startServer(t, ["--devconsole", `--basic-auth-file=${file}`, "sh", "-c", 'echo "user=$REMOTE_USER"; exec cat']);
  const url = `${server.http}/room`;

  const ann = await newContext(t, { httpCredentials: { username: "ann", password: "open sesame" } });
  const { page, problems } = await openDevConsole(t, ann, url);
  await waitForLine(page, "received", "← user=ann");
  await send(page, "hello");
  await waitForLine(page, "received", "← hello");
  await page.screenshot({ path: join(artifacts, "devconsole-auth.png") });
  assert.deepEqual(problems, []);
  // Chromium sent the page's credentials with the upgrade at once: the
  // upgrade was not refused first.
  const connected = await server.waitForLog((e) => e.message === "connected");
  assert.equal(connected.user, "ann");
  assert.equal(connected.path, "/room");
  assert.deepEqual(server.log.filter((e) => e.message === "refused"), [], "no upgrade refused");

  // A page that did not come from wsbridge gets no credentials for its
  // WebSocket, even in the same browser context, and the browser does not
  // ask for them: the upgrade is refused with 401, a failed connection to
  // the page.
  const other = await openConsoleFailing(ann, server.url + "room");
  t.after(() => other.close());
  const refused = await server.waitForLog((e) => e.message === "refused");
  assert.equal(refused.status, 401);
  assert.equal(refused.reason, "no credentials");

  // A wrong password gets 401, and the server says why.
  const wrong = await newContext(t, { httpCredentials: { username: "ann", password: "open says me" } });
  const wrongPage = await wrong.newPage();
  const res = await wrongPage.goto(url);
  assert.equal(res.status(), 401);
  const why = await server.waitForLog((e) => e.message === "refused credentials");
  assert.equal(why.user, "ann");
  assert.equal(why.reason, "wrong password");

  // No credentials at all: 401 with the challenge, and no console.
  const anon = await (await newContext(t)).newPage();
  const [challenged] = await Promise.all([
    anon.waitForResponse(url),
    // Chromium, given nothing to answer the challenge with, gives the
    // navigation up (net::ERR_INVALID_AUTH_CREDENTIALS).
    anon.goto(url).catch(() => {}),
  ]);
  assert.equal(challenged.status(), 401);
  assert.equal(challenged.headers()["www-authenticate"], 'Basic realm="wsbridge", charset="UTF-8"');
  assert.equal(await anon.locator("#log").count(), 0, "no console without credentials");
  assert.equal(server.log.filter((e) => e.message === "connected").length, 1, `only ann's page connected; ${server.logText()}`);
  assert.equal(await server.stop(), 0);
});

// prefixProxy serves what wsbridge at address serves under the path /app/,
// as a proxy in front of it would: plain requests and WebSocket upgrades
// alike reach wsbridge with the prefix taken off. It resolves with its own
// http URL.
async function prefixProxy(t, address) {
  const target = new URL(`http://${address}`);
  const strip = (path) => (path.startsWith("/app/") ? path.slice("/app".length) : null);
  const sockets = new Set();
  const server = createHTTPServer((req, res) => {
    const path = strip(req.url);
    if (path === null) return res.writeHead(404).end();
    const upstream = request({ host: target.hostname, port: target.port, path, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("upgrade", (req, client, head) => {
    const path = strip(req.url);
    if (path === null) return client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => (s === client ? upstream : client).destroy());
    }
    let headers = "";
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    upstream.write(`${req.method} ${path} HTTP/1.1\r\n${headers}\r\n`);
    upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${server.address().port}`;
}

test("examples/site: the page, served under a proxy's prefix, talks to its three scripts", { timeout: 20000 }, async (t) => {
  const site = join(repo, "examples", "site");
  const server = await startServer(t, [`--staticdir=${join(site, "public")}`, `--dir=${join(site, "scripts")}`]);
  const proxy = await prefixProxy(t, server.address);
  const page = await context.newPage();
  t.after(() => page.close());
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  const shows = (id, text) => page.locator(`#${id}`).filter({ hasText: text }).waitFor();

  const res = await page.goto(`${proxy}/app/`);
  assert.equal(res.status(), 200);
  await shows("clock", /^\d\d:\d\d:\d\d$/);
  await shows("upper-state", /^open$/);
  await page.locator("#upper-input").fill("hello, wsbridge");
  await page.locator("#upper-input").press("Enter");
  await shows("upper", /^HELLO, WSBRIDGE$/);
  await page.locator("#count-button").click();
  await shows("count", /^1$/);
  await page.locator("#count-button").click();
  await shows("count", /^2$/);
  await page.screenshot({ path: join(artifacts, "site.png") });
  assert.deepEqual(problems, []);

  // The sockets went through the prefix, each to its script.
  const paths = server.log.filter((e) => e.message === "connected").map((e) => e.path);
  assert.deepEqual(paths.toSorted(), ["/clock.sh", "/count.sh", "/upper.sh"], server.logText());
  await page.close();
  assert.equal(await server.stop(), 0);
});
