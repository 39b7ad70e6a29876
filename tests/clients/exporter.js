'use strict';
// Runs the real exporter binary on a free loopback port with a temporary config and SQLite file,
// and reads its answers: /api/v1/statistics as JSON, /metrics as {name, labels, value} samples.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// Starts BIN with a config that includes the repository's pricing.toml; resolves to
// {port, base, dir, stop(), log()} (stop also removes DIR) once the log line `msg=listening … port=N` appears.
function startExporter(bin, repo) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiusage-clients-'));
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(config, [
    `include = [${JSON.stringify(path.join(repo, 'config', 'pricing.toml'))}]`,
    '[billing]', 'currency = "USD"', 'timezone = "UTC"', 'rates = { CNY = 0.138 }', '',
  ].join('\n'));
  const child = spawn(bin, ['--config', config, '--web.listen-address', '127.0.0.1:0',
    '--storage.path', path.join(dir, 'usage.db')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const running = () => child.exitCode === null && child.signalCode === null;
  process.on('exit', () => running() && child.kill('SIGKILL')); // never outlive the test
  const stop = () => new Promise((resolve) => {
    const done = () => { fs.rmSync(dir, { recursive: true, force: true }); resolve(); };
    if (!running()) return done();
    child.once('exit', done);
    child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      log += d.toString('utf8');
      const m = /msg=listening .*port=(\d+)/.exec(log);
      if (m) resolve({ port: Number(m[1]), base: `http://127.0.0.1:${m[1]}`, dir, stop, log: () => log });
    });
    child.once('exit', (code, signal) => reject(new Error(`exporter exited (${code ?? signal}): ${log}`)));
    child.once('error', reject);
  });
}

async function getJson(url) {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// Samples of the text exposition; label values unescaped (\\, \" and \n).
async function getMetrics(base) {
  const res = await fetch(`${base}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${text}`);
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`unreadable metrics line: ${line}`);
    const labels = {};
    for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

// The one sample of NAME whose labels include WANT (0 when there is none; throws on several).
function sample(samples, name, want) {
  const hits = samples.filter((s) => s.name === name &&
    Object.entries(want).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} ${JSON.stringify(want)}`);
  return hits.length ? hits[0].value : 0;
}

module.exports = { startExporter, getJson, getMetrics, sample };
