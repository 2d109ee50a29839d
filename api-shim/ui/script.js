// The lambda dashboard: the tenant's instances, live over one Server-Sent Events stream read with
// fetch (EventSource cannot send the key as a header, and the key must never be in a URL).
'use strict';

const KEY = 'lambda.apiKey';
const STEPS = ['PENDING', 'CLUSTER_CREATED', 'INIT_DONE', 'COMMONS_INSTALLED', 'HADOOP_INSTALLED',
  'KAFKA_INSTALLED', 'FLINK_INSTALLED', 'STARTED'];
const OK = new Set(['STARTED', 'STOPPED', 'DESTROYED']);
const instances = new Map();  // id -> {id, name, status}
let historyOf = null;
let eventsApplied = 0;
let stream = null;  // the AbortController of the open stream

const $ = (sel) => document.querySelector(sel);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function apiKey() { return sessionStorage.getItem(KEY); }

function errorText(json, text, status) {
  const e = json && json.errors && json.errors[0];
  if (e && typeof e.detail === 'string') return e.detail;
  if (e && Array.isArray(e.detail)) return e.detail.join('; ');
  return `${status}: ${text.slice(0, 200)}`;
}

async function api(method, path, body, extraHeaders) {
  const headers = Object.assign({ 'X-API-Key': apiKey() }, extraHeaders || {});
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
  if (r.status === 401) { forgetKey(); throw new Error('the key was refused'); }
  if (!r.ok) throw new Error(errorText(json, text, r.status));
  return json;
}

function kind(status) {
  if (status === 'FAILED' || status.endsWith('_FAILED')) return 'bad';
  return OK.has(status) ? 'ok' : 'busy';
}

function progress(status) {
  const at = STEPS.indexOf(status);
  if (at >= 0) return { pct: ((at + 1) / STEPS.length) * 100, cls: at === STEPS.length - 1 ? 'done' : '' };
  if (kind(status) === 'bad') return { pct: 100, cls: 'failed' };
  if (OK.has(status)) return { pct: 100, cls: 'done' };
  return { pct: 50, cls: '' };  // starting, stopping, destroying
}

function button(label, enabled, onClick) {
  const b = document.createElement('button');
  b.textContent = label;
  b.disabled = !enabled;
  b.dataset.action = label.toLowerCase();
  b.addEventListener('click', onClick);
  return b;
}

function renderRow(inst) {
  let tr = document.querySelector(`tr[data-id="${inst.id}"]`);
  if (!tr) {
    tr = document.createElement('tr');
    tr.dataset.id = inst.id;
    tr.innerHTML = '<td class="name"></td><td class="id"></td><td><span class="status"></span></td>' +
      '<td><div class="bar"><div></div></div></td><td class="actions"></td>';
    $('#instances tbody').appendChild(tr);
  }
  const name = tr.querySelector('.name');
  name.textContent = inst.name;
  const tags = Object.entries(inst.tags || {}).map(([k, v]) => `${k}:${v}`).join(' ');
  if (tags) {
    const small = document.createElement('small');
    small.className = 'tags';
    small.textContent = tags;
    name.append(' ', small);
  }
  tr.querySelector('.id').textContent = inst.id.slice(0, 8);
  tr.querySelector('.id').title = inst.id;
  const st = tr.querySelector('.status');
  st.textContent = inst.status;
  st.className = `status ${kind(inst.status)}`;
  st.title = inst.failure || '';
  const p = progress(inst.status);
  const bar = tr.querySelector('.bar');
  bar.className = `bar ${p.cls}`;
  bar.firstChild.style.width = `${p.pct}%`;
  const actions = tr.querySelector('.actions');
  actions.replaceChildren(
    button('Start', inst.status === 'STOPPED', () => act(inst.id, 'start')),
    button('Stop', inst.status === 'STARTED', () => act(inst.id, 'stop')),
    button('Destroy', ['STARTED', 'STOPPED', 'FAILED'].includes(inst.status) || inst.status.endsWith('_FAILED'),
      () => { if (confirm(`Destroy ${inst.name}?`)) act(inst.id, 'destroy'); }),
    button('History', true, () => showHistory(inst.id)));
  $('#empty').hidden = instances.size > 0;
  $('#count').textContent = `(${instances.size})`;
}

// Events and list answers race (a worker may write a status before the create's 202 is read,
// and a list answer may be older than the events that came meanwhile): every event is numbered
// as it arrives, and the newer of "the last event" and "the list" wins.
let eventSeq = 0;
const lastEvent = new Map();  // id -> {status, seq}
let refreshing = null;
let refreshAgain = false;

function statusOf(id, listed, listedAtSeq) {
  const ev = lastEvent.get(id);
  return ev && ev.seq > listedAtSeq ? ev.status : listed;
}

async function refreshOnce() {
  const startedAt = eventSeq;
  const body = await api('GET', '/api/lambda-instances/?limit=500');
  const seen = new Set();
  for (const row of body.data) {
    seen.add(row.id);
    const inst = instances.get(row.id) || { id: row.id };
    inst.name = row.name;
    inst.tags = row.tags || {};
    inst.status = statusOf(row.id, row.status.message, startedAt);
    inst.failure = row.status.failure_message || '';
    instances.set(row.id, inst);
    renderRow(inst);
  }
  for (const id of [...instances.keys()]) {
    const ev = lastEvent.get(id);
    if (!seen.has(id) && !(ev && ev.seq > startedAt)) {
      instances.delete(id);
      const tr = document.querySelector(`tr[data-id="${id}"]`);
      if (tr) tr.remove();
    }
  }
  $('#empty').hidden = instances.size > 0;
  $('#count').textContent = `(${instances.size})`;
}

// One list at a time; a request meanwhile makes one more after it.
function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      do {
        refreshAgain = false;
        await refreshOnce();
      } while (refreshAgain);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function apply(ev) {
  eventSeq += 1;
  lastEvent.set(ev.instance_id, { status: ev.status.message, seq: eventSeq });
  eventsApplied += 1;
  document.body.dataset.events = String(eventsApplied);
  const inst = instances.get(ev.instance_id);
  if (!inst) { refresh().catch(() => {}); return; }  // not listed yet (made here or elsewhere)
  inst.status = ev.status.message;
  renderRow(inst);
  if (historyOf === ev.instance_id) showHistory(ev.instance_id);
}

function onBlock(block) {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      if (line.startsWith(': subscribed')) refresh().catch(() => {});  // live now: list once
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    if (field === 'data') data += value;
  }
  if (event === 'resync' || event === 'reset') refresh().catch(() => {});
  if (event === 'status' && data) apply(JSON.parse(data));
}

function setLive(on) {
  const el = $('#live');
  el.textContent = on ? 'live' : 'offline';
  el.className = `live ${on ? 'on' : 'off'}`;
}

async function follow() {
  while (apiKey()) {
    stream = new AbortController();
    try {
      const r = await fetch('/api/lambda-instances/events/', {
        headers: { 'X-API-Key': apiKey(), Accept: 'text/event-stream' }, signal: stream.signal,
      });
      if (r.status === 401) { forgetKey(); return; }
      if (r.ok) {
        setLive(true);
        const reader = r.body.getReader();
        const decoder = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            onBlock(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
      }
    } catch (_) { /* dropped: reconnect below */ }
    setLive(false);
    await sleep(1000);
  }
}

async function act(id, action) {
  $('#action-error').textContent = '';
  try {
    if (action === 'destroy') await api('DELETE', `/api/lambda-instances/${id}/`);
    else await api('POST', `/api/lambda-instances/${id}/`, { action });
  } catch (e) {
    $('#action-error').textContent = e.message;
  }
}

async function showHistory(id) {
  historyOf = id;
  const inst = instances.get(id);
  $('#history-panel').hidden = false;
  $('#history-name').textContent = inst ? inst.name : id;
  const body = await api('GET', `/api/lambda-instances/${id}/events/`);
  const items = body.data.map((e) => {
    const li = document.createElement('li');
    const t = document.createElement('time');
    t.textContent = e.at;
    li.append(t, `${e.status.message} (gen ${e.gen}, ${e.worker || 'api-shim'})`);
    return li;
  });
  $('#history').replaceChildren(...items);
}

async function create(ev) {
  ev.preventDefault();
  $('#create-error').textContent = '';
  const name = $('#create-name').value.trim();
  const body = {
    instance_name: name, master_name: `${name}-master`,
    slaves: Number($('#create-slaves').value), vcpus_master: Number($('#create-vcpus').value),
    vcpus_slave: 1, ram_master: Number($('#create-ram').value), ram_slave: 1024,
    disk_master: 10, disk_slave: 10, ip_allocation: 'master', network_request: 1, project_name: 'lambda',
  };
  try {
    // One key per submit: a retried submit (a double click, a dropped answer) creates once.
    const r = await api('POST', '/api/lambda-instances/', body, { 'Idempotency-Key': crypto.randomUUID() });
    const id = r.data[0].id;
    if (!instances.has(id)) {
      // Its first events may have come before this answer.
      instances.set(id, { id, name, status: statusOf(id, 'PENDING', 0) });
      renderRow(instances.get(id));
    }
    $('#create-name').value = '';
  } catch (e) {
    $('#create-error').textContent = e.message;
  }
}

function forgetKey() {
  sessionStorage.removeItem(KEY);
  if (stream) stream.abort();
  show();
}

async function login(ev) {
  ev.preventDefault();
  const key = $('#key').value.trim();
  $('#login-error').textContent = '';
  const r = await fetch('/api/authenticate/', { headers: { 'X-API-Key': key } });
  if (!r.ok) { $('#login-error').textContent = 'That key was refused.'; return; }
  sessionStorage.setItem(KEY, key);
  $('#key').value = '';
  show();
}

function show() {
  const has = Boolean(apiKey());
  $('#login-panel').hidden = has;
  $('#app').hidden = !has;
  $('#logout').hidden = !has;
  if (has) follow();
  else { instances.clear(); $('#instances tbody').replaceChildren(); setLive(false); }
}

$('#login-form').addEventListener('submit', login);
$('#create-form').addEventListener('submit', create);
$('#logout').addEventListener('click', forgetKey);
show();
