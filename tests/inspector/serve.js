// The inspector of `reflow serve --inspect` in a real browser: headless Chromium (Debian's)
// driven by puppeteer-core, while this script plays the editor over the FBP protocol (ws).
// crates/reflow_cli/tests/inspect.rs starts the server and passes its WebSocket address, its
// secret, the inspector's address and where to save screenshots.
//
// The editor builds a graph (a paced source, the doubler, a sink), starts it; the page must
// draw it and follow it live; the editor stops it; the page must show the end; the editor
// starts it again; the page must follow to the new run. Every wait is for a condition (a
// protocol reply, a page condition); the timeouts only keep a broken run from hanging.
"use strict";

const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");
const WebSocket = require("ws");

const [wsUrl, secret, url, artifacts] = process.argv.slice(2);
if (!wsUrl || !secret || !url || !artifacts) {
  console.error("usage: node serve.js WS_URL SECRET INSPECTOR_URL ARTIFACT_DIR");
  process.exit(2);
}
const GUARD = {timeout: 60_000, polling: "mutation"};

function check(condition, what) {
  if (!condition) throw new Error("check failed: " + what);
  console.log("ok: " + what);
}

// A minimal editor: sends a message, and waits for the first reply that `matches`.
class Editor {
  constructor(socket) {
    this.socket = socket;
    this.waiting = [];
    socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      this.waiting = this.waiting.filter((w) => !(w.matches(message) && (w.resolve(message), true)));
    });
  }

  static open() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl, "noflo");
      socket.on("open", () => resolve(new Editor(socket)));
      socket.on("error", reject);
    });
  }

  request(protocol, command, payload, matches) {
    const reply = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${protocol}:${command}`)), GUARD.timeout);
      this.waiting.push({matches, resolve: (m) => { clearTimeout(timer); resolve(m); }});
    });
    this.socket.send(JSON.stringify({protocol, command, payload, secret}));
    return reply;
  }

  // Graph edits are answered with the same command, or with an error.
  async edit(command, payload) {
    const reply = await this.request("graph", command, payload, (m) => m.command === command || m.command === "error");
    if (reply.command === "error") throw new Error(`graph:${command}: ${JSON.stringify(reply.payload)}`);
  }
}

async function buildGraph(editor) {
  await editor.edit("clear", {id: "paced", name: "paced (served)"});
  await editor.edit("addnode", {graph: "paced", id: "numbers", component: "reflow/Range", metadata: {config: {start: 1, end: 100000000, interval_ms: 10}}});
  await editor.edit("addnode", {graph: "paced", id: "double", component: "doubler"});
  await editor.edit("addnode", {graph: "paced", id: "sink", component: "core/Drop"});
  await editor.edit("addedge", {graph: "paced", src: {node: "numbers", port: "out"}, tgt: {node: "double", port: "input"}});
  await editor.edit("addedge", {graph: "paced", src: {node: "double", port: "output"}, tgt: {node: "sink", port: "in"}});
}

const start = (editor) => editor.request("network", "start", {graph: "paced"}, (m) => m.command === "started" || m.command === "error");
const stop = (editor) => editor.request("network", "stop", {graph: "paced"}, (m) => m.command === "stopped");

async function main() {
  fs.mkdirSync(artifacts, {recursive: true});
  const editor = await Editor.open();
  await buildGraph(editor);
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1400, height: 820});
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
    // Opened before anything runs: the page waits for the editor's first run.
    await page.goto(url);
    const started = await start(editor);
    check(started.command === "started", "the editor started the graph: " + JSON.stringify(started.payload));

    await page.waitForFunction(() => document.querySelectorAll(".process").length === 3 && document.querySelectorAll(".edge").length === 2, GUARD);
    for (const name of ["numbers", "double", "sink"]) {
      const title = await page.$eval(`.process[data-name="${name}"] text.title`, (t) => t.textContent);
      check(title === name, `process ${name} drawn with its name`);
    }
    const edge = "double.output -> sink.in";
    await page.waitForFunction((n) => Number(document.querySelector(`.edge[data-name="${n}"]`).dataset.sent) > 0, GUARD, edge);
    const before = Number(await page.$eval(`.edge[data-name="${edge}"]`, (e) => e.dataset.sent));
    await page.waitForFunction((n, b) => Number(document.querySelector(`.edge[data-name="${n}"]`).dataset.sent) > b, GUARD, edge, before);
    check(true, `${edge}: its count grows past ${before}`);
    await page.click(`.edge[data-name="${edge}"] text.counts`);
    await page.waitForFunction(() => document.querySelectorAll("#detail-body ol.messages li").length >= 3, GUARD);
    const values = await page.$$eval("#detail-body ol.messages li pre", (ps) => ps.map((p) => JSON.parse(p.textContent)));
    check(values.every((v, i) => v === values[0] - 2 * i && v % 2 === 0), `${edge}: the doubles the graph sent, newest first (${values.slice(0, 3).join(", ")}, ...)`);
    const firstRun = Number(await page.$eval("body", (b) => b.dataset.run));
    await page.screenshot({path: path.join(artifacts, "serve.png")});

    // The editor stops the network: the page shows the end, with the table.
    await stop(editor);
    await page.waitForFunction(() => !document.querySelector("#end").hidden, GUARD);
    const rows = await page.$$eval("#end-table tr[data-name]", (rs) => rs.map((r) => r.dataset.name));
    check(["numbers", "double", "sink"].every((p) => rows.includes(p)), `the end shown with its table (${rows.join(", ")})`);

    // Started again: the same page follows to the new run.
    const again = await start(editor);
    check(again.command === "started", "started again");
    await page.waitForFunction((r) => Number(document.body.dataset.run) > r && document.querySelector("#end").hidden, GUARD, firstRun);
    await page.waitForFunction((n) => Number(document.querySelector(`.edge[data-name="${n}"]`).dataset.sent) > 0, GUARD, edge);
    const status = await page.$eval("#status", (s) => s.textContent);
    check(status === "running", `the page follows to the next run (status "${status}")`);
    await stop(editor);
    check(problems.length === 0, "no script errors on the page" + (problems.length ? ": " + problems.join("; ") : ""));
  } finally {
    await browser.close();
    editor.socket.close();
  }
}

main().then(() => console.log("serve inspector: all checks passed"), (e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
