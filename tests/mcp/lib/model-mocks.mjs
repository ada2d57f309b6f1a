// Stand-ins for the model APIs that Claude Code (Anthropic Messages) and Codex (OpenAI Responses)
// call, so that the real clients can be driven through a tool call of Warden's without an account or
// a network: the first turn that offers Warden's tool asks for one call of it with the given input,
// the turn after its result ends the session with a text that quotes that result. Each mock keeps the
// tool results it was sent, so a test reads exactly what the client got back from Warden.
import http from 'node:http';

function serve(handler) {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        let json = {};
        try { json = JSON.parse(body || '{}'); } catch { /* not JSON: answered as no request */ }
        handler(req, res, json, body);
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function sse(res, events) {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const [type, data] of events) res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  res.end();
}

/**
 * The Messages API for Claude Code. It connects MCP servers in the background, so the first turns
 * may offer only WaitForMcpServers: the mock calls that (up to five times) until `tool` is offered.
 */
export async function anthropicMock({ tool, input }) {
  const mock = { results: [], offered: [], requests: 0 };
  let n = 0;
  const server = await serve((req, res, j) => {
    mock.requests++;
    if (!req.url.startsWith('/v1/messages') || req.url.includes('count_tokens')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ input_tokens: 10 }));
      return;
    }
    const tools = (j.tools ?? []).map((t) => t.name);
    mock.offered = tools;
    const asked = JSON.stringify(j.messages ?? []); // the tool calls made so far are in the conversation
    const last = j.messages?.at(-1);
    const result = Array.isArray(last?.content) ? last.content.find((c) => c.type === 'tool_result') : undefined;
    let content;
    let stop = 'end_turn';
    if (result && asked.includes(`"name":"${tool}"`)) {
      const text = typeof result.content === 'string' ? result.content : (result.content ?? []).map((c) => c.text ?? '').join('');
      mock.results.push(text);
      content = [{ type: 'text', text: `done: ${text.slice(0, 200)}` }];
    } else if (tools.includes(tool)) {
      content = [{ type: 'tool_use', id: `toolu_${++n}`, name: tool, input }];
      stop = 'tool_use';
    } else if (tools.includes('WaitForMcpServers') && asked.split('"name":"WaitForMcpServers"').length <= 5) {
      content = [{ type: 'tool_use', id: `toolu_${++n}`, name: 'WaitForMcpServers', input: {} }];
      stop = 'tool_use';
    } else {
      content = [{ type: 'text', text: `${tool} was not offered` }];
    }
    const msg = { id: `msg_${++n}`, type: 'message', role: 'assistant', model: j.model ?? 'claude', content, stop_reason: stop,
      stop_sequence: null, usage: { input_tokens: 10, output_tokens: 10 } };
    if (!j.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(msg));
      return;
    }
    const events = [['message_start', { message: { ...msg, content: [], stop_reason: null } }]];
    content.forEach((c, index) => {
      if (c.type === 'text') {
        events.push(['content_block_start', { index, content_block: { type: 'text', text: '' } }]);
        events.push(['content_block_delta', { index, delta: { type: 'text_delta', text: c.text } }]);
      } else {
        events.push(['content_block_start', { index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }]);
        events.push(['content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(c.input) } }]);
      }
      events.push(['content_block_stop', { index }]);
    });
    events.push(['message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 10 } }]);
    events.push(['message_stop', {}]);
    sse(res, events);
  });
  mock.url = `http://127.0.0.1:${server.address().port}`;
  mock.close = () => new Promise((r) => server.close(r));
  return mock;
}

/**
 * The Responses API for Codex, which offers an MCP server's tools as one namespace
 * (`mcp__<server>`) whose functions keep their own names. {@code next} scripts several calls, each
 * chosen from the results so far, as an agent would (a held call, then request_approval with its id).
 */
export async function openaiMock({ tool, input, next }) {
  // next(results): the call {tool, input} to make after these results, or null to end; by default one call
  next ??= (results) => (results.length === 0 ? { tool, input } : null);
  const mock = { results: [], offered: [], requests: 0 };
  let n = 0;
  const server = await serve((req, res, j) => {
    mock.requests++;
    if (req.method !== 'POST' || !req.url.includes('/responses')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: [], models: [] }));
      return;
    }
    mock.offered = (j.tools ?? []).flatMap((t) => (t.type === 'namespace' ? (t.tools ?? []).map((f) => `${t.name}/${f.name}`) : [t.name]));
    const last = (j.input ?? []).at?.(-1);
    if (last?.type === 'function_call_output') {
      mock.results.push(typeof last.output === 'string' ? last.output : (last.output ?? []).map((c) => c.text ?? '').join('\n'));
    }
    const step = next(mock.results);
    const ns = step && (j.tools ?? []).find((t) => t.type === 'namespace' && (t.tools ?? []).some((f) => f.name === step.tool));
    let item;
    if (ns) {
      item = { type: 'function_call', id: `fc_${++n}`, call_id: `call_${n}`, namespace: ns.name, name: step.tool, arguments: JSON.stringify(step.input) };
    } else {
      const text = step ? `${step.tool} was not offered` : `done: ${(mock.results.at(-1) ?? '').slice(0, 200)}`;
      item = { type: 'message', role: 'assistant', id: `msg_${++n}`, content: [{ type: 'output_text', text }] };
    }
    const id = `resp_${++n}`;
    sse(res, [
      ['response.created', { response: { id } }],
      ['response.output_item.done', { output_index: 0, item }],
      ['response.completed', { response: { id, output: [item], usage: { input_tokens: 10, input_tokens_details: null,
        output_tokens: 10, output_tokens_details: null, total_tokens: 20 } } }],
    ]);
  });
  mock.url = `http://127.0.0.1:${server.address().port}`;
  mock.close = () => new Promise((r) => server.close(r));
  return mock;
}

/** The first JSON object in a tool result as the client passed it on (Codex prefixes a wall time). */
export function resultJson(text) {
  const at = text.indexOf('{');
  if (at < 0) throw new Error(`no JSON in the tool result the client passed on: ${text.slice(0, 300)}`);
  return JSON.parse(text.slice(at, text.lastIndexOf('}') + 1));
}
