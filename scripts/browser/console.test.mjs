// End-to-end tests of examples/index.html and of the --devconsole page: a
// real headless Chromium uses each page against a real wsbridge server, the
// way a person would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  artifacts,
  context,
  logText,
  openConsole,
  openDevConsole,
  send,
  setup,
  startServer,
  waitForLine,
} from "./harness.mjs";

setup();

test("rev answers each line, and HTML comes back as text", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["rev"]);
  const page = await openConsole(context, server.url);
  t.after(() => page.close());

  await send(page, "hello");
  await waitForLine(page, "received", "← olleh");

  await send(page, "<b>x</b>");
  await waitForLine(page, "received", "← >b/<x>b<");
  assert.equal(await page.locator("#log b").count(), 0, "the log must not render HTML");
  await page.screenshot({ path: join(artifacts, "index-html.png") });

  assert.deepEqual(await logText(page), [
    `connecting to ${server.url}`,
    "connected",
    "→ hello",
    "← olleh",
    "→ <b>x</b>",
    "← >b/<x>b<",
  ]);
  assert.equal(await page.locator("#message").inputValue(), "", "the send box is cleared");

  // Stopping the server ends the session with "going away".
  assert.equal(await server.stop(), 0);
  await waitForLine(page, "error", "closed: code 1001, reason: server shutting down");
});

test("a program that exits with status 3 closes with 1011", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["sh", "-c", 'read line; echo "got $line"; exit 3']);
  const page = await openConsole(context, server.url);
  t.after(() => page.close());

  await send(page, "hi");
  await waitForLine(page, "error", "closed: code 1011, reason: exit status 3");
  assert.deepEqual(await logText(page), [
    `connecting to ${server.url}`,
    "connected",
    "→ hi",
    "← got hi",
    "closed: code 1011, reason: exit status 3",
  ]);
  // The page is ready to connect again.
  assert.equal(await page.locator("#connect").isEnabled(), true);
  assert.equal(await page.locator("#message").isDisabled(), true);
  assert.equal(await server.stop(), 0);
});

test("Disconnect closes with 1000 and the server logs it", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["rev"]);
  const page = await openConsole(context, server.url);
  t.after(() => page.close());
  const connected = await server.waitForLog((e) => e.message === "connected");

  await send(page, "abc");
  await waitForLine(page, "received", "← cba");
  await page.locator("#disconnect").click();
  await page.locator("#log > div.info", { hasText: /^closed: code 1000\b/ }).waitFor();
  assert.deepEqual(await logText(page), [
    `connecting to ${server.url}`,
    "connected",
    "→ abc",
    "← cba",
    "disconnecting",
    "closed: code 1000, reason: bye",
  ]);

  const gone = await server.waitForLog((e) => e.message === "disconnected");
  assert.equal(gone.pid, connected.pid);
  assert.equal(gone.close_code, 1000);
  assert.equal(await page.locator("#connect").isEnabled(), true);
  assert.equal(await server.stop(), 0);
});

test("devconsole: rev answers, and HTML comes back as text", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["--devconsole", "rev"]);
  const { page, problems } = await openDevConsole(t, context, `${server.http}/some/path?x=1`);
  const wsURL = server.url.replace(/\/$/, "/some/path?x=1");

  assert.equal(await page.title(), "/some/path – wsbridge console");
  assert.equal(await page.locator("h1").textContent(), "/some/path");
  assert.equal(await page.locator("#url").textContent(), wsURL);

  await send(page, "hello");
  await waitForLine(page, "received", "← olleh");

  const evil = "<img src=x onerror=alert(1)>";
  await page.locator("#message").fill(evil);
  await page.locator("#send").click();
  await waitForLine(page, "received", "← >)1(trela=rorreno x=crs gmi<");
  assert.equal(await page.locator("img").count(), 0, "no img element may be created");
  assert.equal(await page.locator("#message").inputValue(), "", "the send box is cleared");
  await page.screenshot({ path: join(artifacts, "devconsole.png") });

  const connected = await server.waitForLog((e) => e.message === "connected");
  assert.equal(connected.path, "/some/path");

  await page.locator("#disconnect").click();
  await waitForLine(page, "info", "closed: code 1000, reason: bye");
  assert.deepEqual(await logText(page), [
    `connecting to ${wsURL}`,
    "connected",
    "→ hello",
    "← olleh",
    `→ ${evil}`,
    "← >)1(trela=rorreno x=crs gmi<",
    "disconnecting",
    "closed: code 1000, reason: bye",
  ]);

  const gone = await server.waitForLog((e) => e.message === "disconnected");
  assert.equal(gone.id, connected.id);
  assert.equal(gone.path, "/some/path");
  assert.equal(gone.close_code, 1000);
  assert.deepEqual(problems, []);
  assert.equal(await server.stop(), 0);
});

test("devconsole: text that is not ASCII reaches the program whole, with no locale set", { timeout: 20000 }, async (t) => {
  // Started from a service manager, wsbridge often has no locale at all:
  // its programs still get a UTF-8 one.
  const env = { ...process.env };
  for (const name of ["LANG", "LC_ALL", "LC_CTYPE"]) delete env[name];
  const server = await startServer(t, ["--devconsole", "rev"], env);
  const { page, problems } = await openDevConsole(t, context, `${server.http}/`);

  await send(page, "café");
  await waitForLine(page, "received", "← éfac");
  await send(page, "日本語");
  await waitForLine(page, "received", "← 語本日");
  assert.deepEqual(await logText(page), [
    `connecting to ${server.url}`,
    "connected",
    "→ café",
    "← éfac",
    "→ 日本語",
    "← 語本日",
  ]);
  assert.deepEqual(problems, []);
  assert.equal(await server.stop(), 0);
});

test("devconsole: shows the close code and reason when the program exits", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["--devconsole", "sh", "-c", 'read l; echo "bye $l"; exit 3']);
  const { page, problems } = await openDevConsole(t, context, `${server.http}/`);

  await send(page, "x");
  await waitForLine(page, "error", "closed: code 1011, reason: exit status 3");
  assert.deepEqual(await logText(page), [
    `connecting to ${server.url}`,
    "connected",
    "→ x",
    "← bye x",
    "closed: code 1011, reason: exit status 3",
  ]);
  assert.equal(await page.locator("#connect").isEnabled(), true);
  assert.equal(await page.locator("#message").isDisabled(), true);
  assert.deepEqual(problems, []);
  assert.equal(await server.stop(), 0);
});

test("devconsole: the path is shown as text", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["--devconsole", "rev"]);
  const path = "/%3Cscript%3Ealert(1)%3C%2Fscript%3E";
  const { page, problems } = await openDevConsole(t, context, server.http + path);

  assert.equal(await page.title(), "/<script>alert(1)</script> – wsbridge console");
  assert.equal(await page.locator("h1").textContent(), "/<script>alert(1)</script>");
  assert.equal(await page.locator("script").count(), 1, "only the page's own script");
  assert.equal(await page.locator("#url").textContent(), server.url.replace(/\/$/, path));
  assert.deepEqual(problems, []);
  assert.equal(await server.stop(), 0);
});
