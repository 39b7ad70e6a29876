'use strict';
// A stand-in for the OpenAI API on loopback: /v1/chat/completions (plain and streamed) and
// /v1/responses answer with the usage object of the fixture named by the last message's text.
const http = require('node:http');

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (e) { reject(e); }
    });
    req.on('error', reject);
  });
}

function chatUsage(u) {
  return {
    prompt_tokens: u.prompt, completion_tokens: u.completion, total_tokens: u.prompt + u.completion,
    prompt_tokens_details: { cached_tokens: u.cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  };
}

function chatCompletion(f) {
  return {
    id: `chatcmpl-${f.name}`, object: 'chat.completion', created: 1764720000, model: f.responseModel,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null },
      logprobs: null, finish_reason: 'stop' }],
    usage: chatUsage(f.usage), system_fingerprint: 'fp_fake',
  };
}

// The SSE body of a streamed completion; with include_usage the last chunk carries the usage.
function chatStream(f, includeUsage) {
  const base = { id: `chatcmpl-${f.name}`, object: 'chat.completion.chunk', created: 1764720000,
    model: f.responseModel };
  const events = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'o' }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { content: 'k' }, finish_reason: 'stop' }] },
  ];
  if (includeUsage) events.push({ ...base, choices: [], usage: chatUsage(f.usage) });
  return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
}

function response(f) {
  const u = f.usage;
  return {
    id: `resp_${f.name}`, object: 'response', created_at: 1764720000, status: 'completed',
    model: f.responseModel,
    output: [{ type: 'message', id: `msg_${f.name}`, status: 'completed', role: 'assistant',
      content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    usage: { input_tokens: u.prompt, input_tokens_details: { cached_tokens: u.cached },
      output_tokens: u.completion, output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: u.prompt + u.completion },
  };
}

function lastText(body) {
  if (typeof body.input === 'string') return body.input;
  const m = body.messages[body.messages.length - 1];
  return typeof m.content === 'string' ? m.content : m.content[0].text;
}

// Starts the server on 127.0.0.1:0; fixtures maps a prompt text to {name, responseModel, usage}.
// Resolves to {url, server, requests} where requests lists the fixture names served.
function startFakeOpenAI(fixtures) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    try {
      const body = await readJson(req);
      const f = fixtures[lastText(body)];
      if (!f) throw new Error(`no fixture for ${JSON.stringify(lastText(body))}`);
      requests.push(f.name);
      if (req.url === '/v1/chat/completions' && body.stream) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(chatStream(f, body.stream_options && body.stream_options.include_usage));
        return;
      }
      const answer = req.url === '/v1/responses' ? response(f) : chatCompletion(f);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer));
    } catch (e) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(e.message), type: 'invalid_request_error' } }));
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}/v1`, server, requests });
    });
  });
}

module.exports = { startFakeOpenAI };
