'use strict';
// Real clients against the real exporter: the `openai` SDK instrumented by OpenLLMetry's
// @traceloop/instrumentation-openai (and hand-made GenAI spans) calls a fake OpenAI server; the
// OpenTelemetry JS SDK exports the spans with the JSON and the protobuf OTLP/HTTP exporters to
// POST /v1/traces. Checks each stored record's tokens and nano cost (from config/pricing.toml),
// /metrics, that re-exports are duplicates, and what the instrumentation says of cached tokens.
// Usage: node otel_js_test.js EXPORTER_BIN REPO_ROOT
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const api = require('@opentelemetry/api');
const { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, InMemorySpanExporter } =
  require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { OTLPTraceExporter: JsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: ProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OpenAIInstrumentation } = require('@traceloop/instrumentation-openai');

// The instrumentation hooks `require`, so it exists before the SDK is loaded, as in an app.
const instrumentation = new OpenAIInstrumentation({ traceContent: false });
const { OpenAI } = require('openai');
const { startFakeOpenAI } = require('./fake_openai');
const { readPricing, priceFor, costNanos } = require('./pricing');
const { startExporter, getJson, getMetrics, sample } = require('./exporter');

const PROJECT = 'clients-test'; // the resource's service.name, the default project attribute
const MINI = 'gpt-4o-mini-2024-07-18';
const G41 = 'gpt-4.1-2025-04-14';
// One call a row, each a distinct (user, model): `api` is how the span is made, `via` the OTLP
// encoding that carries it. Instrumented calls request the family name, the fake answers the
// dated snapshot (gen_ai.response.model, which the receiver prefers).
const CASES = [
  // name          via      api          user     model  prompt  cached  completion
  ['chat-a',       'json',  'chat',      'alice', MINI,  1200,   1024,   300],
  ['chat-b',       'json',  'chat',      'alice', G41,   2048,   1536,   77],
  ['stream',       'json',  'stream',    'carol', MINI,  40,     0,      2],
  ['manual-json',  'json',  'manual',    'erin',  G41,   7000,   6144,   1234],
  ['chat-c',       'proto', 'chat',      'bob',   MINI,  999,    0,      1],
  ['responses',    'proto', 'responses', 'bob',   G41,   3000,   2048,   500],
  ['manual-proto', 'proto', 'manual',    'dave',  MINI,  5000,   4096,   250],
].map(([name, via, how, user, model, prompt, cached, completion]) =>
  ({ name, via, api: how, user, model, usage: { prompt, cached, completion } }));
const FAMILY = { [MINI]: 'gpt-4o-mini', [G41]: 'gpt-4.1' };

let passed = 0;
function check(what, fn) {
  try {
    fn();
    passed += 1;
  } catch (e) {
    throw new Error(`${what}: ${e.message}`, { cause: e });
  }
}

// Warnings of the OTel libraries (a partial success is logged as one) are collected, not printed.
const warnings = [];
api.diag.setLogger({
  error: (...a) => warnings.push(a.join(' ')), warn: (...a) => warnings.push(a.join(' ')),
  info() {}, debug() {}, verbose() {},
}, api.DiagLogLevel.WARN);

// A span exporter that forwards to INNER and keeps every export's result.
function recording(inner, results) {
  return {
    export: (spans, done) => inner.export(spans, (r) => { results.push(r); done(r); }),
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush(),
  };
}

function exportOnce(exporter, spans) {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

// Makes the case's call (or span) inside the current tracer provider.
async function run(c, client, tracer) {
  const extraAttributes = { 'user.id': c.user };
  const request = FAMILY[c.model];
  if (c.api === 'chat') {
    await client.chat.completions.create({ model: request, extraAttributes,
      messages: [{ role: 'user', content: c.name }] });
  } else if (c.api === 'stream') {
    const stream = await client.chat.completions.create({ model: request, extraAttributes,
      stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: c.name }] });
    for await (const chunk of stream) void chunk; // eslint-disable-line no-unused-vars
  } else if (c.api === 'responses') {
    await client.responses.create({ model: request, input: c.name, extraAttributes });
  } else {
    const span = tracer.startSpan(`chat ${request}`, { kind: api.SpanKind.CLIENT, attributes: {
      'gen_ai.provider.name': 'openai', 'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': request, 'gen_ai.response.model': c.model, 'user.id': c.user,
      'gen_ai.usage.input_tokens': c.usage.prompt, 'gen_ai.usage.output_tokens': c.usage.completion,
      'gen_ai.usage.cache_read.input_tokens': c.usage.cached,
    } });
    span.end();
  }
}

// Runs the cases of one encoding through a tracer provider exporting to /v1/traces;
// returns the finished spans (by case name) and the results of the batch exports.
async function phase(via, Exporter, base, client) {
  const memory = new InMemorySpanExporter();
  const results = [];
  const otlp = new Exporter({ url: `${base}/v1/traces`, timeoutMillis: 10000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': PROJECT }),
    spanProcessors: [new BatchSpanProcessor(recording(otlp, results)), new SimpleSpanProcessor(memory)],
  });
  instrumentation.setTracerProvider(provider);
  const cases = CASES.filter((c) => c.via === via);
  for (const c of cases) await run(c, client, provider.getTracer('clients-test-manual'));
  const flushError = await provider.forceFlush().then(() => null, (e) => e); // checked later
  const spans = memory.getFinishedSpans(); // in the order the calls ended, one after the other
  assert.equal(spans.length, cases.length, `${via}: one span per call`);
  return { spans, pairs: cases.map((c, i) => [c, spans[i]]), results, flushError, exporter: otlp, provider };
}

const attr = (span, key) => span.attributes[key];

// What each span says, and so what the receiver should store for it (null: no usage, skipped).
function expectedRecord(c, span, pricing, today) {
  if (c.api === 'stream') {
    check(`${c.name}: a streamed call's span carries no token usage`, () => {
      assert.deepEqual(Object.keys(span.attributes).filter((k) => k.includes('usage')), []);
    });
    return null;
  }
  check(`${c.name}: span tokens`, () => {
    assert.equal(attr(span, 'gen_ai.provider.name'), 'openai');
    assert.equal(attr(span, 'gen_ai.response.model'), c.model);
    assert.equal(attr(span, 'user.id'), c.user);
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), c.usage.prompt);
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), c.usage.completion);
  });
  let cacheRead = c.usage.cached;
  if (c.api !== 'manual') {
    // Finding: the instrumentation reads only prompt/input and completion/output tokens; the
    // provider's prompt_tokens_details / input_tokens_details.cached_tokens reach no attribute.
    check(`${c.name}: the instrumentation drops cached_tokens`, () => {
      assert.deepEqual(Object.keys(span.attributes).filter((k) => k.includes('cache')), []);
    });
    cacheRead = 0;
  }
  const u = { prompt: c.usage.prompt, cacheRead, cacheWrite: 0, completion: c.usage.completion };
  return { ...u, nanos: costNanos(priceFor(pricing, 'openai', c.model, today), u) };
}

async function checkRecords(base, expected) {
  for (const [c, e] of expected) {
    const q = new URLSearchParams({ userId: c.user, model: c.model, projectId: PROJECT });
    const s = await getJson(`${base}/api/v1/statistics?${q}`);
    check(`${c.name}: stored record`, () => {
      if (!e) return assert.equal(s.totalCalls, 0);
      assert.equal(s.totalCalls, 1);
      assert.equal(s.promptTokens, e.prompt);
      assert.equal(s.completionTokens, e.completion);
      assert.equal(s.cacheReadTokens, e.cacheRead);
      assert.equal(s.cacheWriteTokens, 0);
      assert.equal(s.currency, 'USD');
      assert.equal(BigInt(s.totalCostNanos), e.nanos);
      return undefined;
    });
  }
}

// The cost counter's value as the exposition writes it: whole units + nanos, 16 digits.
function units(nanos) {
  return Number((Number(nanos / 1000000000n) + Number(nanos % 1000000000n) / 1e9).toPrecision(16));
}

async function checkMetrics(base, expected) {
  const m = await getMetrics(base);
  for (const [c, e] of expected) {
    const l = { provider: 'openai', model: c.model, project: PROJECT, user: c.user };
    check(`${c.name}: /metrics`, () => {
      const want = e || { prompt: 0, cacheRead: 0, completion: 0, nanos: 0n };
      assert.equal(sample(m, 'ai_usage_tokens_total', { ...l, token_type: 'input' }), want.prompt - want.cacheRead);
      assert.equal(sample(m, 'ai_usage_tokens_total', { ...l, token_type: 'cache_read' }), want.cacheRead);
      assert.equal(sample(m, 'ai_usage_tokens_total', { ...l, token_type: 'output' }), want.completion);
      assert.equal(sample(m, 'ai_usage_cost_total', { ...l, currency: 'USD' }), units(want.nanos));
      assert.equal(sample(m, 'ai_usage_requests_total', { ...l, cached: 'false' }), e ? 1 : 0);
    });
  }
  return m;
}

async function totals(base, db) {
  const s = await getJson(`${base}/api/v1/statistics?projectId=${PROJECT}`);
  const rows = Number(execFileSync('sqlite3', [db, 'select count(*) from ai_usage']).toString().trim());
  return { calls: s.totalCalls, tokens: s.totalTokens, cacheRead: s.cacheReadTokens,
    nanos: BigInt(s.totalCostNanos), rows };
}

// The instrumented calls and hand-made spans, exported once by each encoding; returns the
// spans, the expected record of each case, and the totals and metrics after the export.
async function firstExport(ctx, client) {
  const json = await phase('json', JsonExporter, ctx.base, client);
  const proto = await phase('proto', ProtoExporter, ctx.base, client);
  check('the fake provider served every instrumented call', () => {
    assert.deepEqual(ctx.fake.requests, CASES.filter((c) => c.api !== 'manual').map((c) => c.name));
  });
  const expected = [...json.pairs, ...proto.pairs]
    .map(([c, s]) => [c, expectedRecord(c, s, ctx.pricing, ctx.today)]);
  check('every batch export succeeded, no partial success or error logged', () => {
    assert.equal(json.flushError || proto.flushError, null);
    for (const r of [...json.results, ...proto.results]) assert.equal(r.code, 0, String(r.error));
    assert.ok(json.results.length >= 1 && proto.results.length >= 1);
    assert.deepEqual(warnings, []);
  });
  await checkRecords(ctx.base, expected);
  const metrics = await checkMetrics(ctx.base, expected);
  const stored = expected.filter(([, e]) => e).length;
  const sums = await totals(ctx.base, ctx.db);
  check('totals of the first export', () => {
    assert.equal(sums.calls, stored);
    assert.equal(sums.rows, stored);
    assert.equal(sums.nanos, expected.reduce((a, [, e]) => a + (e ? e.nanos : 0n), 0n));
    const otlp = (result) => sample(metrics, 'ai_usage_otlp_spans_total', { result });
    assert.equal(otlp('stored'), stored);
    assert.equal(otlp('skipped'), CASES.length - stored);
    assert.equal(otlp('duplicate') + otlp('rejected'), 0);
  });
  await json.provider.shutdown();
  await proto.provider.shutdown();
  return { spans: [...json.spans, ...proto.spans], expected, stored, sums, metrics };
}

// Every span again, gzip-compressed, through both encodings (an exporter's retry, and the other
// decoder for each span): all duplicates, nothing stored twice, every record unchanged.
async function reExport(ctx, first) {
  for (const Exporter of [JsonExporter, ProtoExporter]) {
    const ex = new Exporter({ url: `${ctx.base}/v1/traces`, compression: 'gzip', timeoutMillis: 10000 });
    const r = await exportOnce(ex, first.spans);
    check('a gzip re-export succeeds', () => assert.equal(r.code, 0, String(r.error)));
    await ex.shutdown();
  }
  const sums = await totals(ctx.base, ctx.db);
  check('a re-export stores nothing twice', () => assert.deepEqual(sums, first.sums));
  await checkRecords(ctx.base, first.expected);
  const after = await checkMetrics(ctx.base, first.expected);
  check('a re-export counts duplicates', () => {
    const dup = (m) => sample(m, 'ai_usage_ingest_records_total', { result: 'duplicate' });
    assert.equal(dup(after) - dup(first.metrics), 2 * first.stored);
    const otlp = (result) => sample(after, 'ai_usage_otlp_spans_total', { result });
    assert.equal(otlp('stored'), first.stored);
    assert.equal(otlp('duplicate'), 2 * first.stored);
    assert.equal(otlp('skipped'), 3 * (CASES.length - first.stored));
    assert.equal(otlp('rejected'), 0);
    assert.deepEqual(warnings, []);
  });
  return after;
}

// A span whose cache reads exceed its input is refused in partial_success, which each real
// exporter reads from the answer in its own encoding and logs; nothing is stored.
async function rejection(ctx, first, before) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': PROJECT }),
    spanProcessors: [new SimpleSpanProcessor(memory)] });
  await run({ api: 'manual', user: 'mallory', model: MINI, usage: { prompt: 100, cached: 6000, completion: 1 } },
    null, provider.getTracer('clients-test-manual'));
  for (const Exporter of [JsonExporter, ProtoExporter]) {
    const ex = new Exporter({ url: `${ctx.base}/v1/traces`, timeoutMillis: 10000 });
    const r = await exportOnce(ex, memory.getFinishedSpans());
    check('a partial success is a success', () => assert.equal(r.code, 0, String(r.error)));
    await ex.shutdown();
  }
  const sums = await totals(ctx.base, ctx.db);
  const m = await getMetrics(ctx.base);
  check('both exporters log the rejected span; nothing stored', () => {
    assert.equal(warnings.length, 2, warnings.join('\n'));
    for (const w of warnings) assert.match(w, /^Received Partial Success response: .*"rejectedSpans":"?1"?/);
    warnings.length = 0;
    assert.deepEqual(sums, first.sums);
    const otlp = (samples, result) => sample(samples, 'ai_usage_otlp_spans_total', { result });
    assert.equal(otlp(m, 'rejected') - otlp(before, 'rejected'), 2);
  });
}

async function main() {
  assert.equal(process.argv.length, 4, 'usage: node otel_js_test.js EXPORTER_BIN REPO_ROOT');
  const [bin, repo] = process.argv.slice(2).map((p) => path.resolve(p));
  const fixtures = Object.fromEntries(CASES.map((c) => [c.name, { name: c.name, responseModel: c.model, usage: c.usage }]));
  const fake = await startFakeOpenAI(fixtures);
  const exporter = await startExporter(bin, repo);
  try {
    const ctx = { base: exporter.base, db: path.join(exporter.dir, 'usage.db'), fake,
      pricing: readPricing(path.join(repo, 'config', 'pricing.toml')),
      today: new Date().toISOString().slice(0, 10) };
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: fake.url, maxRetries: 0 });
    const first = await firstExport(ctx, client);
    const after = await reExport(ctx, first);
    await rejection(ctx, first, after);
  } finally {
    await exporter.stop();
    fake.server.close();
  }
  console.log(`clients_otel_js: ${passed} passed, 0 failed`);
}

main().catch((e) => {
  console.error(`FAIL: ${e.message}\n${(e.cause && e.cause.stack) || e.stack}`);
  console.log(`clients_otel_js: ${passed} passed, 1 failed`);
  process.exit(1);
});
