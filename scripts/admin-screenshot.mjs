// Takes docs/admin-tenants.png: the web_app example's /admin/tenants page in headless Chromium,
// after "Check all", with the offline demo's two tenants ("mock" passes, "globex" has a wrong
// client secret and an unregistered redirect URI).
//
//   cargo build --all-features --example web_app
//   node --experimental-websocket scripts/admin-screenshot.mjs [path/to/web_app] [out.png]
//
// Chromium is driven over the DevTools protocol (a signed-in session and a same-origin POST,
// which `chromium --screenshot` alone cannot do). Everything runs on 127.0.0.1.

import { spawn } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const target = process.env.CARGO_TARGET_DIR ?? "target";
const webApp = process.argv[2] ?? join(target, "debug", "examples", "web_app");
const out = process.argv[3] ?? "docs/admin-tenants.png";
const WIDTH = 1280;

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** Resolves with the first line of `stream` matching `pattern`, within `ms`. */
const line = (stream, pattern, ms) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${ms} ms`)), ms);
    let buffered = "";
    stream.on("data", (chunk) => {
      buffered += chunk;
      const match = buffered.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
  });

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const app = spawn(webApp, [], {
  env: {
    ...process.env,
    BIND_ADDR: `127.0.0.1:${port}`,
    APP_BASE_URL: base,
    ADMIN_USERS: "sam.sample@example.com",
    DEMO_BROKEN_TENANT: "1",
    SESSION_SECRET: "admin-screenshot-session-secret-0123456789",
    RUST_LOG: "warn",
  },
  stdio: ["ignore", "pipe", "inherit"],
});
await line(app.stdout, /^Open /m, 60_000);

const profile = mkdtempSync(join(tmpdir(), "okta-oidc-shot-"));
const chromium = spawn(
  "chromium",
  [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--hide-scrollbars",
    `--user-data-dir=${profile}`,
    "--remote-debugging-port=0",
    "about:blank",
  ],
  { stdio: ["ignore", "ignore", "pipe"] },
);
const [, browserWs] = await line(chromium.stderr, /DevTools listening on (ws:\/\/\S+)/, 30_000);
const devtools = new URL(browserWs);
const pages = await (await fetch(`http://${devtools.host}/json/list`)).json();
const page = pages.find((p) => p.type === "page");

const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
let nextId = 0;
const waiting = new Map();
const listeners = [];
ws.addEventListener("message", ({ data }) => {
  const message = JSON.parse(data);
  if (message.id !== undefined) {
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  } else {
    listeners.forEach((listener) => listener(message));
  }
});
const send = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = ++nextId;
    waiting.set(id, (m) => (m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result)));
    ws.send(JSON.stringify({ id, method, params }));
  });
const loaded = () =>
  new Promise((resolve) => {
    const listener = (m) => {
      if (m.method === "Page.loadEventFired") {
        listeners.splice(listeners.indexOf(listener), 1);
        resolve();
      }
    };
    listeners.push(listener);
  });
const evaluate = async (expression) =>
  (await send("Runtime.evaluate", { expression, returnByValue: true })).result.value;

try {
  await send("Page.enable");
  await send("Emulation.setDeviceMetricsOverride", {
    width: WIDTH,
    height: 800,
    deviceScaleFactor: 1,
    mobile: false,
  });
  // Sign in through the embedded mock Okta (it approves the sample user), back to the page.
  let done = loaded();
  await send("Page.navigate", {
    url: `${base}/auth/login?tenant=mock&return_to=/admin/tenants`,
  });
  await done;
  const path = await evaluate("location.pathname");
  if (path !== "/admin/tenants") throw new Error(`signed in to ${path}, not the admin page`);
  // Press "Check all": a same-origin POST, then the page again (Post/Redirect/Get).
  done = loaded();
  await evaluate(`document.querySelector('input[name=tenant][value="*"]').form.submit()`);
  await done;
  const checks = await evaluate("document.querySelectorAll('li.check').length");
  if (checks < 26) throw new Error(`${checks} checks shown, expected two diagnoses`);
  const height = await evaluate("document.documentElement.scrollHeight");
  await send("Emulation.setDeviceMetricsOverride", {
    width: WIDTH,
    height,
    deviceScaleFactor: 1,
    mobile: false,
  });
  const { data } = await send("Page.captureScreenshot", { format: "png" });
  writeFileSync(out, Buffer.from(data, "base64"));
  console.log(`${out}: ${WIDTH}x${height}, ${checks} checks`);
} finally {
  ws.close();
  const exited = (child) => new Promise((resolve) => child.once("exit", resolve));
  const gone = Promise.all([exited(chromium), exited(app)]);
  chromium.kill();
  app.kill();
  await gone;
  rmSync(profile, { recursive: true, force: true });
}
