// End-to-end tests of examples/index.html and of the --devconsole page: a
// real headless Chromium uses each page against a real wsbridge server, the
// way a person would.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const pageURL = pathToFileURL(join(repo, "examples", "index.html")).href;
const wait = 5000; // deadline for any one thing to happen, in ms
// Screenshots of the pages, kept after the run as test artefacts.
const artifacts = join(repo, "scripts", "browser", "artifacts");

let tmp, bin, context;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), "wsbridge-browser-"));
  bin = join(tmp, "wsbridge");
  execFileSync("go", ["build", "-o", bin, "."], { cwd: repo, stdio: "inherit" });
  // No preconnecting: a spare connection that never sends a request keeps
  // wsbridge's shutdown waiting 5 s for it.
  const profile = join(tmp, "profile");
  mkdirSync(join(profile, "Default"), { recursive: true });
  writeFileSync(join(profile, "Default", "Preferences"), JSON.stringify({ net: { network_prediction_options: 2 } }));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context.setDefaultTimeout(wait);
});

after(async () => {
  await context?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// startServer runs wsbridge with the given program on a free port and waits
// until it listens. It is stopped when the test ends, if not before.
async function startServer(t, program) {
  const child = spawn(bin, ["--address=127.0.0.1", "--port=0", ...program], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const server = { child, log: [], stderr: "", waiters: new Set() };
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  child.stderr.on("data", (b) => (server.stderr += b));
  createInterface({ input: child.stdout }).on("line", (line) => {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      entry = { line };
    }
    server.log.push(entry);
    for (const w of server.waiters) w();
  });

  // waitForLog resolves with the first log entry for which match is true.
  server.waitForLog = (match) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const entry = server.log.find(match);
        if (!entry) return;
        done();
        resolve(entry);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no such log entry within ${wait} ms; log:\n${server.log.map((e) => JSON.stringify(e)).join("\n")}\nstderr: ${server.stderr}`));
      }, wait);
      const done = () => {
        clearTimeout(timer);
        server.waiters.delete(check);
      };
      server.waiters.add(check);
      check();
    });

  // stop sends SIGTERM and resolves with the exit code once wsbridge exits.
  server.stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  t.after(server.stop);

  const listening = await server.waitForLog((e) => e.message === "listening");
  server.url = `ws://${listening.address}/`;
  server.http = `http://${listening.address}`;
  return server;
}

// openConsole opens the page and connects it to url.
async function openConsole(url) {
  const page = await context.newPage();
  await page.goto(pageURL);
  assert.equal(await page.locator("#url").inputValue(), "ws://localhost:8080/");
  await page.locator("#url").fill(url);
  await page.locator("#connect").click();
  await waitForLine(page, "info", "connected");
  return page;
}

// send types text into the send box and presses Enter.
async function send(page, text) {
  await page.locator("#message").pressSequentially(text);
  await page.locator("#message").press("Enter");
}

// logLine is the log line of the given kind whose text is exactly text.
function logLine(page, kind, text) {
  const exact = new RegExp("^" + text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$");
  return page.locator(`#log > div.${kind}`).filter({ hasText: exact });
}

// waitForLine waits until the log shows that line; if it does not, the
// error says what the log shows instead.
async function waitForLine(page, kind, text) {
  try {
    await logLine(page, kind, text).waitFor();
  } catch (err) {
    err.message += `\nthe log shows:\n${(await logText(page)).join("\n")}`;
    throw err;
  }
}

const logText = (page) => page.locator("#log > div").allTextContents();

test("rev answers each line, and HTML comes back as text", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["rev"]);
  const page = await openConsole(server.url);
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
  const page = await openConsole(server.url);
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
  const page = await openConsole(server.url);
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

// openDevConsole opens the --devconsole page at url and waits until it has
// connected. problems collects console errors (Content-Security-Policy
// violations among them), uncaught exceptions and dialogs.
async function openDevConsole(t, url) {
  const page = await context.newPage();
  t.after(() => page.close());
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("dialog", (d) => {
    problems.push(`dialog: ${d.type()} ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  const res = await page.goto(url);
  assert.equal(res.status(), 200);
  assert.match(res.headers()["content-security-policy"] ?? "", /default-src 'none'/);
  await waitForLine(page, "info", "connected");
  return { page, problems };
}

test("devconsole: rev answers, and HTML comes back as text", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["--devconsole", "rev"]);
  const { page, problems } = await openDevConsole(t, `${server.http}/some/path?x=1`);
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

test("devconsole: shows the close code and reason when the program exits", { timeout: 20000 }, async (t) => {
  const server = await startServer(t, ["--devconsole", "sh", "-c", 'read l; echo "bye $l"; exit 3']);
  const { page, problems } = await openDevConsole(t, `${server.http}/`);

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
  const { page, problems } = await openDevConsole(t, server.http + path);

  assert.equal(await page.title(), "/<script>alert(1)</script> – wsbridge console");
  assert.equal(await page.locator("h1").textContent(), "/<script>alert(1)</script>");
  assert.equal(await page.locator("script").count(), 1, "only the page's own script");
  assert.equal(await page.locator("#url").textContent(), server.url.replace(/\/$/, path));
  assert.deepEqual(problems, []);
  assert.equal(await server.stop(), 0);
});
