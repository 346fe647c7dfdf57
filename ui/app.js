// @ts-check
/**
 * The web view of one agent: what it knows of the mesh, live. Preact components written with htm
 * (tagged templates: no JSX, so no build step), over a MeshStore kept live by Live.
 */
import { h, render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { storedToken, storeToken } from './api.js';
import { Live } from './live.js';
import { MeshRing } from './mesh.js';
import { HealthPanel } from './charts.js';
import { filterInstances, filterMembers, formatAge, HEALTH_STATUSES, MEMBER_STATUSES, MeshStore } from './store.js';

const html = htm.bind(h);

/** @typedef {import('./store.js').Member} Member */
/** @typedef {import('./store.js').FeedItem} FeedItem */
/** @typedef {import('../src/api/view-types.js').ServiceInstance} ServiceInstance */
/** @typedef {import('../src/api/view-types.js').AgentSelfInfo} AgentSelfInfo */
/** @typedef {{ kind: 'node', name: string } | { kind: 'instance', name: string, id: string } | null} Selection */

const ROW = 26;

/** Re-renders the calling component on every store change; returns the store's version. @param {MeshStore} store */
function useStore(store) {
  const [version, setVersion] = useState(store.version);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  return version;
}

/** The wall clock, once a second (for "how long in that status"). */
function useClock() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

/**
 * Only the rows in sight (and a few around them) are in the DOM, so 10,000 rows cost what 30 do.
 * @template T
 * @param {{ items: readonly T[], height: number, row: (item: T, index: number) => any, label: string }} props
 */
function VirtualList({ items, height, row, label }) {
  const [top, setTop] = useState(0);
  const ref = useRef(/** @type {HTMLDivElement | null} */ (null));
  const first = Math.max(0, Math.floor(top / ROW) - 5);
  const last = Math.min(items.length, Math.ceil((top + height) / ROW) + 5);
  const rows = [];
  for (let i = first; i < last; i++) rows.push(html`<div class="vrow" style=${{ transform: `translateY(${i * ROW}px)` }} key=${i}>${row(/** @type {T} */ (items[i]), i)}</div>`);
  return html`<div class="vlist" role="list" aria-label=${label} ref=${ref} style=${{ height: `${height}px` }} onScroll=${(/** @type {Event} */ e) => setTop(/** @type {HTMLElement} */ (e.currentTarget).scrollTop)}>
    <div class="vspace" style=${{ height: `${items.length * ROW}px` }}>${rows}</div>
  </div>`;
}

/** @param {{ status: string }} props */
function Dot({ status }) {
  return html`<span class=${`dot s-${status}`} title=${status}></span>`;
}

/** @param {{ tags: Readonly<Record<string, string>> | readonly string[] }} props */
function Tags({ tags }) {
  const list = Array.isArray(tags) ? tags : Object.entries(tags).map(([k, v]) => `${k}=${v}`);
  return html`<span class="tags">${list.map((t) => html`<span class="tag" key=${t}>${t}</span>`)}</span>`;
}

/** @param {{ store: MeshStore, selfName: string, select: (s: Selection) => void, selected: Selection }} props */
function MembersPanel({ store, selfName, select, selected }) {
  useStore(store);
  const now = useClock();
  const [text, setText] = useState('');
  const [status, setStatus] = useState('');
  const all = store.memberArray();
  const list = useMemo(() => filterMembers(all, { text, status }), [all, text, status]);
  const counts = store.memberCounts();
  return html`<section class="panel members">
    <header>
      <h2>Members</h2>
      <span id="members-count" data-total=${all.length} data-alive=${counts.alive} data-suspect=${counts.suspect} data-dead=${counts.dead} data-left=${counts.left}>
        ${all.length} members: ${MEMBER_STATUSES.map((s) => html`<span class=${`count s-${s}`} key=${s}>${counts[s]} ${s}</span>`)}
      </span>
    </header>
    <div class="filters">
      <input type="search" placeholder="name, address or tag" aria-label="filter members" value=${text} onInput=${(/** @type {any} */ e) => setText(e.currentTarget.value)} />
      <select aria-label="member status" value=${status} onChange=${(/** @type {any} */ e) => setStatus(e.currentTarget.value)}>
        <option value="">any status</option>
        ${MEMBER_STATUSES.map((s) => html`<option value=${s} key=${s}>${s}</option>`)}
      </select>
      <span class="shown">${list.length === all.length ? '' : `${list.length} shown`}</span>
    </div>
    <div class="thead mrow"><span></span><span>name</span><span>address</span><span>status</span><span>inc.</span><span>for</span><span>tags</span></div>
    <${VirtualList}
      items=${list}
      height=${300}
      label="members"
      row=${(/** @type {Member} */ m) => html`<div
        class=${`mrow row${selected?.kind === 'node' && selected.name === m.name ? ' selected' : ''}`}
        data-member=${m.name}
        data-status=${m.status}
        onClick=${() => select({ kind: 'node', name: m.name })}
      >
        <${Dot} status=${m.status} />
        <span class="name">${m.name}${m.name === selfName ? html` <em>(this agent)</em>` : ''}</span>
        <span class="mono">${m.addr}:${m.port}</span>
        <span class=${`st s-${m.status}`}>${m.status}</span>
        <span class="mono">${m.incarnation}</span>
        <span class="mono">${formatAge(now - m.since)}</span>
        <${Tags} tags=${m.tags} />
      </div>`}
    />
  </section>`;
}

/** @param {{ store: MeshStore, select: (s: Selection) => void, selected: Selection }} props */
function ServicesPanel({ store, select, selected }) {
  useStore(store);
  const [name, setName] = useState('');
  const [tag, setTag] = useState('');
  const [status, setStatus] = useState('');
  const all = store.instanceArray();
  const list = useMemo(() => filterInstances(all, { name, tag, status }), [all, name, tag, status]);
  const counts = store.instanceCounts();
  return html`<section class="panel services">
    <header>
      <h2>Services</h2>
      <span id="instances-count" data-total=${all.length} data-services=${store.instances.size} data-passing=${counts.passing} data-warning=${counts.warning} data-critical=${counts.critical}>
        ${store.instances.size} services, ${all.length} instances: ${HEALTH_STATUSES.map((s) => html`<span class=${`count s-${s}`} key=${s}>${counts[s]} ${s}</span>`)}
      </span>
    </header>
    <div class="filters">
      <input type="search" placeholder="service name" aria-label="filter by service name" value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} />
      <input type="search" placeholder="tag" aria-label="filter by tag" value=${tag} onInput=${(/** @type {any} */ e) => setTag(e.currentTarget.value)} />
      <select aria-label="instance status" value=${status} onChange=${(/** @type {any} */ e) => setStatus(e.currentTarget.value)}>
        <option value="">any health</option>
        ${HEALTH_STATUSES.map((s) => html`<option value=${s} key=${s}>${s}</option>`)}
      </select>
      <span class="shown">${list.length === all.length ? '' : `${list.length} shown`}</span>
    </div>
    <div class="thead irow"><span></span><span>service</span><span>id</span><span>node</span><span>address</span><span>health</span><span>tags</span></div>
    <${VirtualList}
      items=${list}
      height=${300}
      label="instances"
      row=${(/** @type {ServiceInstance} */ i) => html`<div
        class=${`irow row${selected?.kind === 'instance' && selected.id === i.id ? ' selected' : ''}`}
        data-instance=${i.id}
        data-service=${i.name}
        data-status=${i.status}
        onClick=${() => select({ kind: 'instance', name: i.name, id: i.id })}
      >
        <${Dot} status=${i.status} />
        <span class="name">${i.name}</span>
        <span class="mono ellipsis">${i.id}</span>
        <span class="ellipsis">${i.node}</span>
        <span class="mono">${i.address}:${i.port}</span>
        <span class=${`st s-${i.status}`}>${i.status}</span>
        <${Tags} tags=${i.tags} />
      </div>`}
    />
  </section>`;
}

/** @param {{ store: MeshStore, selected: Selection, selfName: string, select: (s: Selection) => void, loadChecks: (node: string) => void }} props */
function Detail({ store, selected, selfName, select, loadChecks }) {
  useStore(store);
  const now = useClock();
  // Another node's instance: its checks are read once from GET /v1/checks?node=, then kept by events.
  const shownNode = selected?.kind === 'instance' ? (store.instances.get(selected.name) ?? []).find((i) => i.id === selected.id)?.node : undefined;
  const checksLoaded = shownNode !== undefined && store.remoteChecks.has(shownNode);
  useEffect(() => {
    if (shownNode !== undefined && shownNode !== selfName && !checksLoaded) loadChecks(shownNode);
  }, [shownNode, selfName, checksLoaded, loadChecks]);
  if (selected === null) return html`<section class="panel detail"><h2>Detail</h2><p class="hint">Select a member, an instance or a node of the mesh.</p></section>`;
  if (selected.kind === 'node') {
    const m = store.members.get(selected.name);
    if (m === undefined) return html`<section class="panel detail"><h2>${selected.name}</h2><p class="hint">No longer in this agent's view (reaped).</p></section>`;
    const instances = store.instanceArray().filter((i) => i.node === m.name);
    return html`<section class="panel detail" data-detail-node=${m.name}>
      <h2><${Dot} status=${m.status} /> ${m.name}</h2>
      <dl>
        <dt>address</dt><dd class="mono">${m.addr}:${m.port}</dd>
        <dt>status</dt><dd class=${`s-${m.status}`}>${m.status} for ${formatAge(now - m.since)}</dd>
        <dt>incarnation</dt><dd class="mono">${m.incarnation}</dd>
        <dt>tags</dt><dd><${Tags} tags=${m.tags} /></dd>
      </dl>
      <h3>Instances (${instances.length})</h3>
      <ul class="plain">${instances.map((i) => html`<li key=${i.id}><a href="#" onClick=${(/** @type {Event} */ e) => (e.preventDefault(), select({ kind: 'instance', name: i.name, id: i.id }))}><${Dot} status=${i.status} /> ${i.name} <span class="mono">${i.id}</span></a></li>`)}</ul>
      ${m.name === selfName ? html`<p class="hint">This is the agent serving this page.</p>` : ''}
    </section>`;
  }
  const inst = (store.instances.get(selected.name) ?? []).find((i) => i.id === selected.id);
  if (inst === undefined) return html`<section class="panel detail"><h2>${selected.name}</h2><p class="hint">Instance ${selected.id} is gone.</p></section>`;
  const local = inst.node === selfName;
  const remote = local ? undefined : store.remoteChecks.get(inst.node);
  const checks = local ? [...store.checks.values()].filter((c) => c.serviceId === inst.id) : (remote?.get(inst.id) ?? []);
  const reg = store.registrations.get(inst.id);
  return html`<section class="panel detail" data-detail-instance=${inst.id}>
    <h2><${Dot} status=${inst.status} /> ${inst.name}</h2>
    <dl>
      <dt>id</dt><dd class="mono">${inst.id}</dd>
      <dt>node</dt><dd><a href="#" onClick=${(/** @type {Event} */ e) => (e.preventDefault(), select({ kind: 'node', name: inst.node }))}>${inst.node}</a></dd>
      <dt>address</dt><dd class="mono">${inst.address}:${inst.port}</dd>
      <dt>health</dt><dd class=${`s-${inst.status}`}>${inst.status}${reg?.maintenance !== undefined ? ` (maintenance: ${reg.maintenance})` : ''}</dd>
      <dt>tags</dt><dd><${Tags} tags=${inst.tags} /></dd>
      <dt>meta</dt><dd>${Object.keys(inst.meta).length === 0 ? html`<span class="hint">none</span>` : html`<table class="meta">${Object.entries(inst.meta).map(([k, v]) => html`<tr key=${k}><th>${k}</th><td class="mono">${v}</td></tr>`)}</table>`}</dd>
    </dl>
    <h3>Checks</h3>
    ${!local && remote === undefined
      ? html`<p class="hint">Reading the checks ${inst.node} published…</p>`
      : checks.length === 0
        ? html`<p class="hint">No checks: the instance is as its registration says.</p>`
        : html`<table class="checks">${checks.map(
            (c) => html`<tr key=${c.id} data-check=${c.id} data-status=${c.status}><td><${Dot} status=${c.status} /></td><td class="mono">${c.id}</td><td>${c.kind}</td><td class=${`s-${c.status}`}>${c.status}</td><td class="output">${c.output}</td></tr>`,
          )}</table>`}
    ${local ? '' : html`<p class="hint">These checks run on ${inst.node}: a change of status reaches this view at once, their output (its first 256 bytes) at most every few minutes.</p>`}
  </section>`;
}

/** @param {{ store: MeshStore, select: (s: Selection) => void }} props */
function Feed({ store, select }) {
  useStore(store);
  const items = store.feed.slice(-200).reverse();
  return html`<section class="panel feed">
    <header><h2>Events</h2><span class="hint">the last ${store.feed.length} (newest first)</span></header>
    <ol class="feedlist" aria-label="events">
      ${items.map(
        (f) => html`<li key=${f.seq} data-event=${f.type} data-subject=${f.subject}>
          <time class="mono">${new Date(f.at).toLocaleTimeString([], { hour12: false })}</time>
          <span class=${`etype s-${f.status}`}>${f.type}</span>
          ${f.subject === '' ? '' : html`<a href="#" onClick=${(/** @type {Event} */ e) => (e.preventDefault(), f.type.startsWith('member-') ? select({ kind: 'node', name: f.subject }) : undefined)}>${f.subject}</a>`}
          <span class="etext">${f.text}</span>
        </li>`,
      )}
    </ol>
  </section>`;
}

/** @param {{ message: string, onToken: (token: string) => void }} props */
function Login({ message, onToken }) {
  const [value, setValue] = useState('');
  const had = storedToken() !== null;
  return html`<form class="login" onSubmit=${(/** @type {Event} */ e) => (e.preventDefault(), onToken(value))}>
    <h2>This agent wants its token</h2>
    <p>${had ? 'The token given was refused. ' : ''}Type the agent's HTTP token (its --http-token or HEARSAY_HTTP_TOKEN). It is kept for this tab only.</p>
    <p class="hint">${message}</p>
    <input id="token" type="password" autocomplete="current-password" aria-label="token" value=${value} onInput=${(/** @type {any} */ e) => setValue(e.currentTarget.value)} />
    <button type="submit">Open the view</button>
  </form>`;
}

function App() {
  const store = useMemo(() => new MeshStore({ schedule: (fn) => void requestAnimationFrame(fn) }), []);
  const [conn, setConn] = useState(/** @type {{ state: import('./live.js').ConnectionState, detail: string }} */ ({ state: 'connecting', detail: '' }));
  const [self, setSelf] = useState(/** @type {AgentSelfInfo['Hearsay'] | null} */ (null));
  const [selected, select] = useState(/** @type {Selection} */ (null));
  const live = useMemo(() => new Live(store, (state, detail) => setConn({ state, detail }), setSelf), [store]);
  const loadChecks = useMemo(() => (/** @type {string} */ node) => live.loadNodeChecks(node), [live]);
  useEffect(() => {
    live.start();
    return () => live.stop();
  }, [live]);
  useEffect(() => {
    if (self !== null) document.title = `hearsay: ${self.name}`;
  }, [self]);
  if (conn.state === 'login') {
    return html`<${Login}
      message=${conn.detail}
      onToken=${(/** @type {string} */ t) => {
        storeToken(t);
        live.start();
      }}
    />`;
  }
  const selfName = self?.name ?? '';
  return html`<div class="layout">
    <header class="top">
      <h1>hearsay</h1>
      <span class="agent">${self === null ? '' : html`agent <strong>${self.name}</strong> <span class="mono">${self.addr}:${self.port}</span> · ${self.version}${self.profile === undefined ? '' : ` · ${self.profile} profile`}`}</span>
      <span id="connection" class=${`conn c-${conn.state}`} data-state=${conn.state} title=${conn.detail}>${conn.state === 'live' ? 'live' : conn.state === 'connecting' ? 'connecting…' : conn.detail}</span>
      ${storedToken() === null ? '' : html`<button class="link" onClick=${() => (storeToken(null), location.reload())}>forget token</button>`}
    </header>
    <div class="row1">
      <${MeshRing} store=${store} selfName=${selfName} selected=${selected?.kind === 'node' ? selected.name : ''} onSelect=${(/** @type {string} */ name) => select({ kind: 'node', name })} />
      <${HealthPanel} store=${store} />
    </div>
    <div class="row2">
      <${MembersPanel} store=${store} selfName=${selfName} select=${select} selected=${selected} />
      <${Detail} store=${store} selected=${selected} selfName=${selfName} select=${select} loadChecks=${loadChecks} />
    </div>
    <div class="row3">
      <${ServicesPanel} store=${store} select=${select} selected=${selected} />
      <${Feed} store=${store} select=${select} />
    </div>
  </div>`;
}

const root = document.getElementById('app');
if (root !== null) render(html`<${App} />`, root);
