// End-to-end test of a --broadcast group spanning instances through NATS
// (--cluster), as headless Chromium uses it: two pages, each on an
// instance of its own, talk through examples/chat.sh. The NATS server is
// the Go module's, with JetStream on, run by scripts/bench ("bench nats").
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { artifacts, logText, newContext, openConsole, repo, send, setup, startServer, tmp, wait, waitForLine } from "./harness.mjs";

setup();

// freePort resolves with a TCP port of 127.0.0.1 that nothing listens on.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// startNATS builds scripts/bench and runs its NATS server on a free port
// until the test ends, and resolves with its URL once it listens.
async function startNATS(t) {
  const bench = join(tmp, "bench");
  execFileSync("go", ["build", "-o", bench, "./scripts/bench"], { cwd: repo, stdio: "inherit" });
  const port = await freePort();
  const child = spawn(bench, ["nats", `--port=${port}`, "--address=127.0.0.1"], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  });
  let stderr = "";
  child.stderr.on("data", (b) => (stderr += b));
  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the NATS server did not listen within ${wait} ms: ${stderr}`)), wait);
    createInterface({ input: child.stdout }).on("line", (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    exited.then((code) => reject(new Error(`the NATS server exited (${code}): ${stderr}`)));
  });
  assert.equal(listening, `listening on 127.0.0.1:${port}`);
  return `nats://127.0.0.1:${port}`;
}

test("--broadcast --cluster: examples/chat.sh carries what a page on one instance says to a page on another", { timeout: 60000 }, async (t) => {
  const nats = await startNATS(t);
  const program = ["--broadcast", join(repo, "examples", "chat.sh")];
  const flags = [`--cluster=${nats}`, "--cluster-name=browser"];
  const one = await startServer(t, [...flags, ...program]);
  const two = await startServer(t, [...flags, ...program]);
  // said matches a line of the room: the time, then what was said.
  const said = (text) => new RegExp(`^← \\d\\d:\\d\\d:\\d\\d ${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);

  const ann = await openConsole(await newContext(t), one.url + "lobby");
  await one.waitForLog((e) => e.message === "connected");
  const bob = await openConsole(await newContext(t), two.url + "lobby");
  await two.waitForLog((e) => e.message === "connected");

  await send(ann, "hi Bob");
  await waitForLine(ann, "received", said("hi Bob"));
  await waitForLine(bob, "received", said("hi Bob"));
  await send(bob, "hi Ann");
  await waitForLine(bob, "received", said("hi Ann"));
  await waitForLine(ann, "received", said("hi Ann"));
  await ann.screenshot({ path: join(artifacts, "cluster-ann.png") });
  await bob.screenshot({ path: join(artifacts, "cluster-bob.png") });

  const shown = async (page) => (await logText(page)).map((l) => l.replace(/^← \d\d:\d\d:\d\d /, "← "));
  assert.deepEqual(await shown(ann), [`connecting to ${one.url}lobby`, "connected", "→ hi Bob", "← hi Bob", "← hi Ann"]);
  assert.deepEqual(await shown(bob), [`connecting to ${two.url}lobby`, "connected", "← hi Bob", "→ hi Ann", "← hi Ann"]);

  await ann.locator("#disconnect").click();
  await waitForLine(ann, "info", "closed: code 1000, reason: bye");
  await bob.locator("#disconnect").click();
  await waitForLine(bob, "info", "closed: code 1000, reason: bye");
  assert.equal(await one.stop(), 0, one.logText());
  assert.equal(await two.stop(), 0, two.logText());
});
