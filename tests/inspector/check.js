// The inspector in a real browser: headless Chromium (Debian's) driven by puppeteer-core,
// against `reflow run tests/inspector/graph.json --inspect` started by
// crates/reflow_cli/tests/inspect.rs, which passes the page's address, the run's process id
// (to stop it with SIGINT, as Ctrl-C does) and where to save screenshots.
//
// Every wait is for a condition on the page (waitForFunction); the timeouts only keep a broken
// page from hanging the suite, they never pace the test.
"use strict";

const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const [url, pid, artifacts] = process.argv.slice(2);
if (!url || !pid || !artifacts) {
  console.error("usage: node check.js URL PID ARTIFACT_DIR");
  process.exit(2);
}
// A hang guard, not a pace: a healthy page meets each condition within a second or two.
const GUARD = {timeout: 60_000, polling: "mutation"};
const graph = JSON.parse(fs.readFileSync(path.join(__dirname, "graph.json"), "utf8"));

function check(condition, what) {
  if (!condition) throw new Error("check failed: " + what);
  console.log("ok: " + what);
}

async function sentOn(page, name) {
  return Number(await page.$eval(`.edge[data-name="${name}"]`, (e) => e.dataset.sent));
}

async function main() {
  fs.mkdirSync(artifacts, {recursive: true});
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
    await page.goto(url);

    // Every process and every connection drawn, with its name.
    const processes = Object.keys(graph.processes);
    const edges = graph.connections.filter((c) => c.src).map((c) => `${c.src.process}.${c.src.port} -> ${c.tgt.process}.${c.tgt.port}`);
    await page.waitForFunction((n, m) => document.querySelectorAll(".process").length === n && document.querySelectorAll(".edge").length === m, GUARD, processes.length, edges.length);
    for (const name of processes) {
      const title = await page.$eval(`.process[data-name="${name}"] text.title`, (t) => t.textContent);
      check(title === name, `process ${name} drawn with its name`);
    }
    for (const name of edges) {
      const label = await page.$eval(`.edge[data-name="${name}"] text.name`, (t) => t.textContent);
      const [, out, inport] = name.match(/\.(\w+) -> \w+\.(\w+)$/);
      check(label === `${out} → ${inport}`, `connection ${name} drawn with its ports (${label})`);
    }
    const group = await page.$eval('.group[data-name="arithmetic"] text', (t) => t.textContent);
    check(group === "arithmetic", "the group drawn with its name");

    // An edge's count grows between two readings.
    const first = edges[0];
    await page.waitForFunction((n) => Number(document.querySelector(`.edge[data-name="${n}"]`).dataset.sent) > 0, GUARD, first);
    const before = await sentOn(page, first);
    await page.waitForFunction((n, b) => Number(document.querySelector(`.edge[data-name="${n}"]`).dataset.sent) > b, GUARD, first, before);
    const after = await sentOn(page, first);
    check(after > before, `${first}: ${before} then ${after} messages`);

    // Clicking an edge lists its last messages, newest first: numbers sends 1, 2, 3, ... so
    // the k-th message on its connection is the Integer k, and double's are twice that.
    for (const [name, factor] of [[edges[0], 1], [edges[1], 2]]) {
      await page.click(`.edge[data-name="${name}"] text.counts`);
      await page.waitForFunction(() => document.querySelectorAll("#detail-body ol.messages li").length >= 3, GUARD);
      const shown = await page.$$eval("#detail-body ol.messages li", (items) => items.map((li) => ({
        type: li.querySelector(".type").textContent,
        json: li.querySelector("pre").textContent,
        time: li.querySelector("time").textContent,
      })));
      const values = shown.map((m) => JSON.parse(m.json));
      // The list is pushed with each message, the count with the next sample: the count may
      // lag the newest message shown until that sample arrives, so read it once it has.
      await page.waitForFunction((n, k) => Number(document.querySelector(`.edge[data-name="${n}"]`).dataset.sent) >= k, GUARD, name, values[0] / factor);
      const sent = await sentOn(page, name);
      check(shown.every((m) => m.type === "Integer" && /^\d\d:\d\d:\d\d\.\d{3}$/.test(m.time)), `${name}: messages shown as Integer, each with its time`);
      check(values.every((v, i) => Number.isInteger(v) && v === values[0] - i * factor), `${name}: newest first, consecutive (${values.slice(0, 4).join(", ")}, ...)`);
      check(values[0] % factor === 0 && values[0] / factor >= 1 && values[0] / factor <= sent, `${name}: the newest is what the graph sent as message ${values[0] / factor} of ${sent}`);
    }
    // Let the plot gather some history for the screenshot (a page condition, not a pause).
    await page.waitForFunction(() => state.history.length >= 12, GUARD);
    await page.screenshot({path: path.join(artifacts, "inspector.png")});
    console.log("saved " + path.join(artifacts, "inspector.png"));

    // The durable counter's state, as committed, growing with its calls.
    await page.click('.process[data-name="count"] text.title');
    await page.waitForFunction(() => document.querySelector("#actor-state"), GUARD);
    const count = () => page.$eval("#actor-state", (p) => JSON.parse(p.textContent).count);
    const c1 = await count();
    check(Number.isInteger(c1) && c1 > 100, `count's state shown: {"count": ${c1}} (from 100, one per message)`);
    await page.waitForFunction((c) => {
      const p = document.querySelector("#actor-state");
      return p && JSON.parse(p.textContent).count > c;
    }, GUARD, c1);
    check((await count()) > c1, "count's state follows the run");
    const config = await page.$eval("#actor-config", (p) => JSON.parse(p.textContent));
    check(config.initial_value === 100, "count's config shown");

    // The failing actor's error.
    await page.click('.process[data-name="echo"] text.title');
    await page.waitForFunction(() => document.querySelector("#actor-errors li .error"), GUARD);
    const error = await page.$eval("#actor-errors li .error", (e) => e.textContent);
    check(error.includes("boom: the inspector's test asked for it"), `echo's error shown: ${error}`);
    check(await page.$eval('.process[data-name="echo"]', (g) => g.classList.contains("failing") && Number(g.dataset.errors) === 1), "echo drawn as failing, with its one error");

    // The end of the run (Ctrl-C: the source stops, what is in flight finishes) with its table.
    process.kill(Number(pid), "SIGINT");
    await page.waitForFunction(() => !document.querySelector("#end").hidden, GUARD);
    const status = await page.$eval("#status", (s) => s.textContent);
    check(status === "failed", `the end shown as such (status "${status}": echo's call failed)`);
    const rows = await page.$$eval("#end-table tr[data-name]", (rs) => rs.map((r) => r.dataset.name));
    check(processes.every((p) => rows.includes(p)), `the final table lists every process (${rows.join(", ")})`);
    await page.screenshot({path: path.join(artifacts, "inspector-end.png")});
    check(problems.length === 0, "no script errors on the page" + (problems.length ? ": " + problems.join("; ") : ""));
  } finally {
    await browser.close();
  }
}

main().then(() => console.log("inspector: all checks passed"), (e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
