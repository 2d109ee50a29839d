// The real npm `eventsource` client (v5) on the tenant stream, across a reconnect (SPEC §4.4):
// it sees one change, its connection is cut, eight more changes are made while it is away, and
// it reconnects by itself (sending Last-Event-ID). Prints what it saw as one JSON line.
// Run by tests/e2e/watch_resume_test.cpp:
//   node eventsource_resume.mjs <dir holding node_modules> <base url> <api key> <id a> <id b>
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [moduleDir, base, key, a, b] = process.argv.slice(2);
const { EventSource } = await import(
  pathToFileURL(createRequire(`${moduleDir}/`).resolve('eventsource')).href);

const api = (path) => `${base}/api/lambda-instances/${path}`;
async function act(id, action, status) {
  const r = await fetch(api(`${id}/`), {
    method: 'POST',
    headers: { 'X-API-Key': key, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `action=${action}`,
  });
  if (r.status !== 202) throw new Error(`${action} ${id}: ${r.status} ${await r.text()}`);
  const w = await fetch(api(`${id}/status/?wait_for=${status}&timeout=30`), {
    headers: { 'X-API-Key': key },
  });
  if (w.headers.get('x-wait-reached') !== 'true') throw new Error(`${id} never ${status}`);
}

const out = { before: [], after: [], reconnect_last_event_id: null, fetches: 0 };
let cut = null;
let openGate;
const gate = new Promise((resolve) => { openGate = resolve; });

const es = new EventSource(api('events/'), {
  fetch: async (url, init) => {
    out.fetches += 1;
    const headers = { ...init.headers, 'X-API-Key': key };
    if (out.fetches === 1) {
      const res = await fetch(url, { ...init, headers });
      const reader = res.body.getReader();
      // The first connection can be cut from here: its body just ends, as when a proxy drops it.
      cut = () => reader.cancel().catch(() => {});
      const body = new ReadableStream({
        async pull(c) {
          const { value, done } = await reader.read();
          if (done) c.close(); else c.enqueue(value);
        },
        cancel() { return reader.cancel(); },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    }
    out.reconnect_last_event_id = headers['Last-Event-ID'] ?? null;
    await gate;  // reconnect only once every change of the gap was made
    return fetch(url, { ...init, headers });
  },
});

let done;
const finished = new Promise((resolve) => { done = resolve; });
const record = (kind) => (ev) => {
  const d = JSON.parse(ev.data);
  const item = { event: kind, id: ev.lastEventId, instance_id: d.instance_id ?? null,
                 status: d.status?.message ?? null, event_id: d.event_id ?? null };
  (out.fetches > 1 ? out.after : out.before).push(item);
  if (out.fetches === 1 && item.instance_id === a && item.status === 'STARTED') gap();
  if (out.after.filter((e) => e.event === 'status').length >= 8) setTimeout(done, 700);
};
es.addEventListener('status', record('status'));
es.addEventListener('reset', record('reset'));
es.addEventListener('open', () => {
  if (out.fetches === 1) act(a, 'start', 'STARTED').catch(fail);
});

async function gap() {
  cut();
  await act(a, 'stop', 'STOPPED');
  await act(b, 'start', 'STARTED');
  await act(b, 'stop', 'STOPPED');
  await act(a, 'start', 'STARTED');
  openGate();
}

function fail(e) {
  out.error = String(e);
  done();
}
const timer = setTimeout(() => fail('timed out'), 45000);
await finished;
clearTimeout(timer);
es.close();
console.log(JSON.stringify(out));
process.exit(0);
