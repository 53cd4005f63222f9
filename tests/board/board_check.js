// Drives `mhub board` in headless chromium (puppeteer-core) and checks what a user sees.
// Usage: node board_check.js URL LOGDIR SCREENSHOT_DIR CHROMIUM   (exit 1 with the reasons on failure)
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");
const puppeteer = require("puppeteer-core");

const [url, logdir, shots, chromium] = process.argv.slice(2);
const failures = [];
const check = (ok, message) => { if (!ok) failures.push(message); };

// What the board should list: every folder with a metrics.jsonl, and every trial of a sweep.
function expectedRuns() {
  const runs = new Set();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === "metrics.jsonl") runs.add(path.relative(logdir, dir) || ".");
      else if (entry.name === "sweep.json")
        for (const t of JSON.parse(fs.readFileSync(full, "utf8")).trials) runs.add(path.relative(logdir, path.join(dir, "trials", t.id)));
    }
  };
  walk(logdir);
  return [...runs].sort();
}
function rowsWith(run, key) {
  return fs.readFileSync(path.join(logdir, run, "metrics.jsonl"), "utf8").split("\n").filter((l) => l.trim() && key in JSON.parse(l)).length;
}
function rawGet(target, host) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, path: target, method: "GET", headers: host ? { Host: host } : {} }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1360, height: 900 });
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(url, { waitUntil: "networkidle0" });
    await page.waitForFunction(() => window.mhubBoard && window.mhubBoard.ready && document.querySelectorAll("#runs tbody tr").length > 0, { timeout: 20000 });

    // 1. Every run listed.
    const expected = expectedRuns();
    const listed = (await page.$$eval("#runs tbody tr", (rows) => rows.map((r) => r.dataset.run))).sort();
    check(JSON.stringify(listed) === JSON.stringify(expected), `runs listed ${JSON.stringify(listed)}, expected ${JSON.stringify(expected)}`);
    const failed = await page.$$eval("#runs tbody tr", (rows) => rows.filter((r) => r.querySelector(".badge.failed")).length);
    check(failed === 2, `${failed} runs marked failed, expected 2 (schedule=bogus)`);

    // 1b. A single run shows the settings finetune wrote into its run.json.
    const singleSettings = await page.$$eval('#runs tbody tr[data-run="single"] td.settings', (c) => c.map((x) => x.textContent));
    check(singleSettings.length === 1 && singleSettings[0].includes("optimizer=adamw") && singleSettings[0].includes("model=fashion-cnn"),
      `the single run's settings cell is ${JSON.stringify(singleSettings)}, expected the run.json settings (optimizer=adamw, model=fashion-cnn)`);

    // 2. A selected run's curves have as many points as its metrics.jsonl has rows of them.
    const points = await page.evaluate(() => window.mhubBoard.curvePoints());
    const run = "sweep/trials/t000";
    check(points[run], `run ${run} is not drawn (drawn: ${Object.keys(points)})`);
    if (points[run]) {
      check(points[run].loss === rowsWith(run, "train/loss"), `${run}: ${points[run].loss} loss points, metrics.jsonl has ${rowsWith(run, "train/loss")}`);
      check(points[run].lr === rowsWith(run, "train/lr"), `${run}: ${points[run].lr} learning-rate points, metrics.jsonl has ${rowsWith(run, "train/lr")}`);
      check(points[run].accuracy === rowsWith(run, "epoch/eval_accuracy"), `${run}: ${points[run].accuracy} accuracy points, metrics.jsonl has ${rowsWith(run, "epoch/eval_accuracy")}`);
    }
    const legends = await page.$$eval("#chart-loss .u-legend .u-series", (s) => s.map((x) => x.textContent));
    check(legends.some((t) => t.includes(run)), `the loss chart's legend does not name ${run}`);

    // 3. Sorting: clicking "eval acc" twice orders the table by it, descending.
    // (clicked from inside the page: the 2-second poll re-renders the table under puppeteer's handles)
    for (let i = 0; i < 2; ++i) await page.evaluate(() => document.querySelector('#runs th[data-key="eval_accuracy"]').click());
    const accs = await page.$$eval("#runs tbody tr", (rows) => rows.map((r) => parseFloat(r.children[7].textContent)).filter((v) => !Number.isNaN(v)));
    check(accs.every((v, i) => i === 0 || accs[i - 1] >= v), `eval acc column not sorted descending: ${accs}`);

    // 4. The sweep view: one chart per parameter.
    const sweepCharts = await page.$$eval('.sweep[data-sweep="sweep"] .uplot', (c) => c.length);
    check(sweepCharts === 2, `${sweepCharts} sweep charts, expected 2 (lr, schedule)`);

    // 5. Curves follow a run that is still training: a new row appears within a few polls.
    const single = "single";
    const before = (await page.evaluate(() => window.mhubBoard.curvePoints()))[single];
    const last = fs.readFileSync(path.join(logdir, single, "metrics.jsonl"), "utf8").trim().split("\n").pop();
    const step = JSON.parse(last).step + 1;
    fs.appendFileSync(path.join(logdir, single, "metrics.jsonl"), JSON.stringify({ step, wall_time: Date.now() / 1000, "train/loss": 0.5, "train/lr": 0.001 }) + "\n");
    try {
      await page.waitForFunction((run, n) => (window.mhubBoard.curvePoints()[run] || {}).loss === n, { timeout: 8000 }, single, before.loss + 1);
    } catch (e) {
      failures.push(`the loss curve of ${single} did not grow after a row was appended (had ${before && before.loss})`);
    }
    await page.screenshot({ path: path.join(shots, "board-runs.png"), fullPage: true });

    // 6. The model page: op histogram, graph drawing.
    await page.goto(url + "#model/logdir/sweep/best.onnx", { waitUntil: "networkidle0" });
    await page.waitForSelector("#op-histogram tr", { timeout: 15000 });
    const ops = await page.$$eval("#op-histogram tr", (rows) => rows.map((r) => r.dataset.op));
    for (const op of ["Conv", "Relu", "Gemm"]) check(ops.includes(op), `op histogram lacks ${op}: ${ops}`);
    const drawn = await page.$$eval("#graph svg g.node", (g) => g.length);
    check(drawn >= 5, `the graph drawing has ${drawn} nodes`);
    await page.screenshot({ path: path.join(shots, "board-model.png"), fullPage: true });

    // 6b. A model in the cache (its snapshot file a symlink into blobs/), listed and shown.
    const cached = process.env.MHUB_BOARD_CACHE_MODEL;
    const models = JSON.parse((await rawGet("/api/models")).body).models;
    check(models.some((m) => m.root === "cache" && m.path === cached), `/api/models does not list the cached ${cached}`);
    await page.goto(url + "#model/cache/" + cached, { waitUntil: "networkidle0" });
    const heading = "cache / " + cached;
    const shown = await page.waitForFunction((h) => [...document.querySelectorAll("#view-model h2")].some((e) => e.textContent === h) &&
      document.querySelectorAll("#op-histogram tr").length > 0, { timeout: 15000 }, heading).then(() => true, () => false);
    check(shown, `the model page did not show "${heading}" with an op histogram`);
    const cachedOps = await page.$$eval("#op-histogram tr", (rows) => rows.map((r) => r.dataset.op));
    check(cachedOps.includes("Conv") && cachedOps.includes("Gemm"), `the cached model's op histogram: ${cachedOps}`);
    check(pageErrors.length === 0, `errors in the page: ${pageErrors}`);
  } finally {
    await browser.close();
  }

  // 7. Nothing outside the log folder and the cache: traversal attempts, raw and percent-encoded.
  const attempts = [
    "/assets/../../../../etc/passwd", "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/../../../../etc/passwd", "/api/metrics?run=../../../../etc", "/api/metrics?run=..%2F..%2F..%2F..%2Fetc",
    "/api/metrics?run=%2Fetc", "/api/model?root=logdir&path=../../../../etc/passwd",
    "/api/model?root=logdir&path=..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/api/model?root=logdir&path=%2Fetc%2Fpasswd",
    "/api/model?root=cache&path=..%2F..%2F..%2Fetc%2Fpasswd", "/api/model?root=/etc&path=passwd", "/assets/%2e%2e%2fboard.js",
  ];
  for (const target of attempts) {
    const res = await rawGet(target);
    check(res.status === 403 || res.status === 404, `${target}: HTTP ${res.status}, expected 403/404`);
    check(!res.body.includes("root:"), `${target}: the answer holds /etc/passwd`);
  }
  const rebinding = await rawGet("/api/runs", "evil.example:80");
  check(rebinding.status === 403, `a foreign Host header got HTTP ${rebinding.status}, expected 403`);
  const ok = await rawGet("/api/runs");
  check(ok.status === 200, `/api/runs: HTTP ${ok.status}`);

  if (failures.length) {
    console.log("FAIL:\n  " + failures.join("\n  "));
    process.exit(1);
  }
  console.log(`board: ${expectedRuns().length} runs listed, curves match metrics.jsonl, model page drawn, ${attempts.length} traversal attempts refused; screenshots in ${shots}`);
})().catch((e) => {
  console.log("FAIL: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
