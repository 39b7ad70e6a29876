'use strict';
// The expected cost of a record, computed independently of the exporter from the shipped
// config/pricing.toml: exact decimals (BigInt), one half-even rounding to the nano per record.
const fs = require('node:fs');

// A decimal text ("0.075", "2.5", "3") as {units, scale}: value = units / 10^scale.
function decimal(text) {
  const m = /^"?(\d+)(?:\.(\d+))?"?$/.exec(text.trim());
  if (!m) throw new Error(`not a plain decimal: ${text}`);
  const frac = m[2] || '';
  return { units: BigInt(m[1] + frac), scale: frac.length };
}

// The [[pricing]] entries of a file: {provider, model, input, output, cache_read, cache_write,
// effective_from} with prices as decimals; cache prices default to input, as the README says.
function readPricing(path) {
  const entries = [];
  let cur = null;
  for (const raw of fs.readFileSync(path, 'utf8').split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line.startsWith('[')) {
      cur = line === '[[pricing]]' ? {} : null;
      if (cur) entries.push(cur);
      continue;
    }
    const kv = /^(\w+)\s*=\s*(.+)$/.exec(line);
    if (!cur || !kv) continue;
    const [, key, value] = kv;
    if (['input', 'output', 'cache_read', 'cache_write'].includes(key)) cur[key] = decimal(value);
    else if (['provider', 'model', 'currency', 'effective_from', 'service_tier'].includes(key))
      cur[key] = JSON.parse(value);
  }
  for (const e of entries) {
    e.cache_read = e.cache_read || e.input;
    e.cache_write = e.cache_write || e.input;
  }
  return entries;
}

// The entry the README's matching rule picks for provider/model at an ISO date (YYYY-MM-DD, UTC):
// exact name, else the longest prefix ending at '-', ':' or '@', else '*'; latest effective_from.
function priceFor(entries, provider, model, isoDate) {
  // Standard-tier entries only: the spans these tests send name no service tier.
  const own = entries.filter((e) => e.provider === provider && !e.service_tier);
  const matches = (name) => name === model ||
    (model.startsWith(name) && '-:@'.includes(model[name.length]));
  const names = [...new Set(own.map((e) => e.model))].filter((n) => n !== '*' && matches(n));
  names.sort((a, b) => b.length - a.length);
  const name = names.length ? names[0] : '*';
  const live = own.filter((e) => e.model === name && (e.effective_from || '') <= isoDate);
  live.sort((a, b) => (a.effective_from || '').localeCompare(b.effective_from || ''));
  if (!live.length) throw new Error(`no price for ${provider}/${model}`);
  return live[live.length - 1];
}

function roundHalfEven(num, den) {
  const q = num / den;
  const r = num % den;
  if (2n * r > den || (2n * r === den && q % 2n === 1n)) return q + 1n;
  return q;
}

// Nanos of one record: classes uncached input, cache read, cache write and output, each tokens ×
// price per 1M tokens, i.e. tokens × price × 1000 nanos, summed exactly and rounded once.
function costNanos(price, u) {
  const classes = [
    [BigInt(u.prompt - u.cacheRead - u.cacheWrite), price.input],
    [BigInt(u.cacheRead), price.cache_read],
    [BigInt(u.cacheWrite), price.cache_write],
    [BigInt(u.completion), price.output],
  ];
  const scale = Math.max(...classes.map(([, p]) => p.scale));
  const den = 10n ** BigInt(scale);
  let num = 0n;
  for (const [tokens, p] of classes) num += tokens * p.units * 10n ** BigInt(scale - p.scale) * 1000n;
  return roundHalfEven(num, den);
}

module.exports = { readPricing, priceFor, costNanos };
