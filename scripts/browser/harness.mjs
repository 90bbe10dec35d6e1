// What the browser tests share: a wsbridge binary built for the run, a
// headless Chromium, servers started on a free port, and the pages
// (examples/index.html and the --devconsole page) used as a person would.
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

export const repo = fileURLToPath(new URL("../..", import.meta.url));
// examples/index.html, opened from disk.
export const pageURL = pathToFileURL(join(repo, "examples", "index.html")).href;
export const wait = 5000; // deadline for any one thing to happen, in ms
// Screenshots of the pages, kept after the run as test artefacts.
export const artifacts = join(repo, "scripts", "browser", "artifacts");

// tmp is the run's scratch directory: the binary, Chromium's profile, and
// whatever files a test writes there.
export let tmp;
// context is the browser's default context; newContext makes others.
export let context;
let bin;

// setup builds wsbridge and launches Chromium before the tests of the file
// that calls it, and closes and removes them after.
export function setup() {
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
}

// newContext makes a browser context of its own (cookies, cache and HTTP
// credentials apart from every other) with the given Playwright options,
// closed when the test ends.
export async function newContext(t, options = {}) {
  const ctx = await context.browser().newContext(options);
  ctx.setDefaultTimeout(wait);
  t.after(() => ctx.close());
  return ctx;
}

// startServer runs wsbridge with the given flags and program on a free port,
// in env (by default the tests' own environment), and waits until it
// listens. It is stopped when the test ends, if not before.
export async function startServer(t, program, env = process.env) {
  const child = spawn(bin, ["--address=127.0.0.1", "--port=0", ...program], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
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

  // logText is the server's log so far, for error messages.
  server.logText = () => `log:\n${server.log.map((e) => JSON.stringify(e)).join("\n")}\nstderr: ${server.stderr}`;

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
        reject(new Error(`no such log entry within ${wait} ms (${match}); ${server.logText()}`));
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
  server.address = listening.address; // host:port
  server.url = `ws://${listening.address}/`;
  server.http = `http://${listening.address}`;
  return server;
}

// openConsole opens examples/index.html in ctx and connects it to url.
export async function openConsole(ctx, url) {
  const page = await ctx.newPage();
  await page.goto(pageURL);
  assert.equal(await page.locator("#url").inputValue(), "ws://localhost:8080/");
  await page.locator("#url").fill(url);
  await page.locator("#connect").click();
  await waitForLine(page, "info", "connected");
  return page;
}

// openDevConsole opens the --devconsole page at url in ctx and waits until
// it has connected. problems collects console errors (Content-Security-Policy
// violations among them), uncaught exceptions and dialogs.
export async function openDevConsole(t, ctx, url) {
  const page = await ctx.newPage();
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

// send types text into the send box of either page and presses Enter.
export async function send(page, text) {
  await page.locator("#message").pressSequentially(text);
  await page.locator("#message").press("Enter");
}

// logLine is the log line of the given kind whose text is exactly text, or
// matches text if it is a RegExp.
export function logLine(page, kind, text) {
  const match = text instanceof RegExp ? text : new RegExp("^" + text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$");
  return page.locator(`#log > div.${kind}`).filter({ hasText: match });
}

// waitForLine waits until the log shows that line; if it does not, the
// error says what the log shows instead.
export async function waitForLine(page, kind, text) {
  try {
    await logLine(page, kind, text).waitFor();
  } catch (err) {
    err.message += `\nthe log shows:\n${(await logText(page)).join("\n")}`;
    throw err;
  }
}

// logText is the text of each line of the page's log.
export const logText = (page) => page.locator("#log > div").allTextContents();
