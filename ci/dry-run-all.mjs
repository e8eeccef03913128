#!/usr/bin/env node
// Server-side dry run of every shipped configuration against a real kube-apiserver (v1.20.2, built
// by ci/kube-apiserver/build.sh; see ci/kube-apiserver/README.md for what that server does and
// does not check).
//
//   node ci/dry-run-all.mjs [CONFIG_DIR ...]
//
// Without arguments the configurations are the example `config/` and every
// `test/fixtures/valid/*`, plus derived copies with the other GitOps tool for every architecture
// variant that no shipped configuration covers with both Argo CD and Flux. Each one is synthesized
// with `npm run --silent synth -- --config DIR --out DIR` into a temporary folder (the synth's own
// CLI, no lib/ internals), then:
//   - the CRDs of crds/ are registered for real (minus the CRD features newer than 1.20),
//   - the Namespaces of the output are applied for real (dry-run stores nothing), plus the GitOps
//     tool's namespace for the objects of _gitops/ (Argo CD / Flux would have created it),
//   - every other object goes through `kubectl create --dry-run=server` (the same request as
//     `apply` for an object that does not exist; kubectl's client-side schema validation against
//     the server's OpenAPI included), and the objects of Flux configurations also through
//     `kubectl apply --server-side --dry-run=server`, which is how kustomize-controller applies.
// A rejection fails the run unless it is one of the documented 1.20 differences (TOLERATED
// below), matched by exact message and printed as "tolerated: ...".
//
// Environment: KUBECTL (default: the matching kubectl-1.20 from the build, else `kubectl`),
// BUILD_DIR (default /tmp/apiserver-build), JOBS (parallel kubectl calls, default 3),
// KEEP=1 (keep the temporary folder), DEBUG=1 (print every kubectl call with its duration).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HERE = path.join(ROOT, 'ci', 'kube-apiserver');
const YAML = createRequire(path.join(ROOT, 'package.json'))('yaml');
const BUILD_DIR = process.env.BUILD_DIR ?? '/tmp/apiserver-build';
const KUBECTL = process.env.KUBECTL ?? (fs.existsSync(`${BUILD_DIR}/bin/kubectl-1.20`) ? `${BUILD_DIR}/bin/kubectl-1.20` : 'kubectl');
const JOBS = Number(process.env.JOBS ?? 3);
// kubectl 1.20 throttles itself to 5 requests/s after a burst of 10: a batch of 9 objects (one
// request each, plus the OpenAPI document for validation) runs unthrottled.
const CHUNK = 9;
const TOOLS = ['argocd', 'flux'];

const t0 = Date.now();
const secs = (from) => `${((Date.now() - from) / 1000).toFixed(1)} s`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dry-run-all-'));
const runDir = path.join(tmp, 'apiserver-run');
let serverStarted = false;

function cleanup() {
  if (serverStarted) {
    spawnSync('bash', [path.join(HERE, 'stop.sh')], { env: { ...process.env, RUN_DIR: runDir }, stdio: 'ignore' });
    serverStarted = false;
  }
  if (process.env.KEEP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
  else console.log(`kept ${tmp}`);
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---------------------------------------------------------------------------------------------
// Configurations
// ---------------------------------------------------------------------------------------------

/** platform.yaml files of a configuration dir (single cluster, or clusters/<c>/). */
function platformFiles(dir) {
  if (fs.existsSync(path.join(dir, 'platform.yaml'))) return [path.join(dir, 'platform.yaml')];
  const clusters = path.join(dir, 'clusters');
  return fs.readdirSync(clusters).sort().map((c) => path.join(clusters, c, 'platform.yaml')).filter((f) => fs.existsSync(f));
}

/** Architecture variant and GitOps tool of each cluster of a configuration (defaults as in README). */
function describe(dir) {
  return platformFiles(dir).map((file) => {
    const p = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
    const variant = p.architecture?.variant ?? 'namespacePerTenant';
    const split = variant === 'namespacePerTenant' && p.architecture?.separateBuildNamespace === true;
    return { variant: split ? 'namespacePerTenant+separateBuildNamespace' : variant, tool: p.gitops?.tool ?? 'none' };
  });
}

function shippedConfigs() {
  const valid = path.join(ROOT, 'test', 'fixtures', 'valid');
  return [
    { label: 'config', dir: path.join(ROOT, 'config') },
    ...fs.readdirSync(valid).sort().map((name) => ({ label: `valid/${name}`, dir: path.join(valid, name) })),
  ];
}

/**
 * A copy of a single-cluster configuration with the other GitOps tool, for every architecture
 * variant that the shipped configurations do not already deliver with both tools.
 */
function toolVariants(configs) {
  const covered = new Set(configs.flatMap((c) => describe(c.dir).map((d) => `${d.variant}/${d.tool}`)));
  const derived = [];
  for (const c of configs) {
    if (platformFiles(c.dir).length !== 1 || !fs.existsSync(path.join(c.dir, 'platform.yaml'))) continue;
    const [{ variant, tool }] = describe(c.dir);
    if (!TOOLS.includes(tool)) continue;
    for (const other of TOOLS) {
      if (covered.has(`${variant}/${other}`)) continue;
      covered.add(`${variant}/${other}`);
      const dir = path.join(tmp, 'configs', `${path.basename(c.dir)}-${other}`);
      fs.cpSync(c.dir, dir, { recursive: true });
      const doc = YAML.parseDocument(fs.readFileSync(path.join(dir, 'platform.yaml'), 'utf8'));
      doc.setIn(['gitops', 'tool'], other);
      fs.writeFileSync(path.join(dir, 'platform.yaml'), doc.toString());
      derived.push({ label: `${c.label} with gitops.tool ${other}`, dir });
    }
  }
  return derived;
}

// ---------------------------------------------------------------------------------------------
// Tolerated 1.20 differences (ci/kube-apiserver/README.md, "Known differences"). Each one is an
// exact message pattern plus a check of the object itself; anything else is a rejection.
// ---------------------------------------------------------------------------------------------

/** Values at a dotted field path, through arrays (1.20 prints list fields without indices). */
function valuesAt(obj, dotted) {
  let values = [obj];
  for (const key of dotted.split('.')) {
    values = values.flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v) => v && typeof v === 'object' && key in v).map((v) => v[key]);
  }
  return values.flatMap((v) => (Array.isArray(v) ? v : [v]));
}

const esc = (text) => String(text).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const NULL_STRING_CAUSE = /^([A-Za-z0-9_.[\]-]+): Invalid value: "null": \1 in body must be of type string: "null"$/;

const TOLERATED = [
  {
    // kube-openapi of 1.20 built with Go 1.19 takes a CRD field's "" for null (e.g. AppProject
    // namespaceResourceWhitelist[].group: "", the core API group). Only for custom resources, only
    // when every cause is this one, and only for fields whose value really is "".
    name: 'empty string taken for null by the 1.20 CRD schema validation',
    match(err, obj, crdGroups) {
      const group = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/')[0] : '';
      if (!crdGroups.has(group)) return undefined;
      // kubectl prints `The <Kind> "<name>" is invalid: ` and then one cause, or one `* <cause>`
      // line per cause (or, from `Error from server (Invalid)`, `[<cause>, <cause>]`).
      const kind = esc(obj.kind);
      const name = esc(obj.metadata?.name);
      const m = new RegExp(`^(?:The ${kind} "${name}"|Error from server \\(Invalid\\): error when [a-z ]+"[^"]*": ${kind}\\.${esc(group)} "${name}") is invalid: ([^]*)$`).exec(err.trim());
      if (!m) return undefined;
      const body = m[1].trim();
      const causes = body.startsWith('* ') ? body.split('\n').map((l) => l.replace(/^\* /, ''))
        : body.startsWith('[') && body.endsWith(']') ? body.slice(1, -1).split(/, (?=[A-Za-z0-9_.[\]-]+: Invalid value: )/)
        : [body];
      for (const cause of causes) {
        const c = NULL_STRING_CAUSE.exec(cause.trim());
        if (!c) return undefined;
        const values = valuesAt(obj, c[1]);
        if (!values.includes('')) return undefined; // 1.20 names the list field, not the element
      }
      return causes.map((c) => c.trim().split(':')[0]).join(', ');
    },
  },
  {
    // API versions newer than 1.20: kubectl finds no mapping. Only for exactly these kinds/versions.
    name: 'API version newer than 1.20',
    match(err, obj) {
      const newer = { 'policy/v1': 'PodDisruptionBudget', 'batch/v1': 'CronJob', 'autoscaling/v2': 'HorizontalPodAutoscaler' };
      if (newer[obj.apiVersion] !== obj.kind) return undefined;
      const m = new RegExp(`^error: resource mapping not found for name: "[^"]*" namespace: "[^"]*" from "[^"]*": no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`).exec(err.trim())
        ?? new RegExp(`^(?:error: )?unable to recognize "[^"]*": no matches for kind "${obj.kind}" in version "${obj.apiVersion}"$`).exec(err.trim());
      return m ? `${obj.kind} ${obj.apiVersion}` : undefined;
    },
  },
];

/** CRD schema features newer than 1.20, removed before registering (README, "Known differences"). */
function stripNewerCrdFeatures(crd) {
  const removed = {};
  const count = (what) => { removed[what] = (removed[what] ?? 0) + 1; };
  const strip = (o) => {
    if (Array.isArray(o)) return o.forEach(strip);
    if (!o || typeof o !== 'object') return;
    if (o.default === '') { delete o.default; count('default: ""'); }
    if ('x-kubernetes-validations' in o) { delete o['x-kubernetes-validations']; count('x-kubernetes-validations'); }
    Object.values(o).forEach(strip);
  };
  for (const v of crd.spec.versions ?? []) {
    if ('selectableFields' in v) { delete v.selectableFields; count('selectableFields'); }
    strip(v.schema);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: process.env, ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

async function kubectl(args, input) {
  const started = Date.now();
  const r = await run(KUBECTL, [`--cache-dir=${path.join(tmp, 'kube-cache')}`, ...args], { input });
  if (process.env.DEBUG) console.log(`   [${secs(started)}] kubectl ${args.map((a) => path.basename(a)).join(' ')} -> ${r.code}`);
  return r;
}

/** stderr without kubectl's `Warning: ...` lines (collected and printed once each: they are not rejections). */
const seenWarnings = new Set();
function warnings(stderr) {
  const lines = stderr.split('\n');
  for (const w of lines.filter((l) => l.startsWith('Warning: '))) {
    if (!seenWarnings.has(w)) console.log(`warning (not a rejection): ${w.slice('Warning: '.length)}`);
    seenWarnings.add(w);
  }
  return lines.filter((l) => !l.startsWith('Warning: ')).join('\n');
}

async function pool(items, n, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  }));
  return results;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

// ---------------------------------------------------------------------------------------------
// Output trees
// ---------------------------------------------------------------------------------------------

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

/**
 * Every manifest of an output tree, as { file, cluster, folder, obj }. The CI templates (`ci/`) and
 * the README.md summaries (the index and one per tenant folder) are not manifests; neither Argo CD
 * nor Flux applies a `.md` file.
 */
function manifests(out, multiCluster) {
  const list = [];
  for (const file of walk(out)) {
    const rel = path.relative(out, file).split(path.sep);
    const cluster = multiCluster ? rel.shift() : '';
    const folder = rel.length > 1 ? rel[0] : '';
    if (folder === 'ci' || rel[rel.length - 1] === 'README.md') continue;
    if (multiCluster && cluster === 'README.md') continue; // the index of all clusters
    if (!/\.ya?ml$/.test(file)) throw new Error(`unexpected file in the output: ${path.relative(out, file)}`);
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      const obj = doc.toJS();
      if (obj === null || obj === undefined) continue;
      list.push({ file: path.relative(out, file), cluster, folder, obj });
    }
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  const base = args.length ? args.map((d) => ({ label: d, dir: path.resolve(d) })) : shippedConfigs();
  const configs = [...base, ...(args.length ? [] : toolVariants(base))];

  console.log('== configurations (architecture variant / GitOps tool per cluster)');
  for (const c of configs) console.log(`   ${c.label}: ${describe(c.dir).map((d) => `${d.variant} / ${d.tool}`).join(', ')}`);

  // 1. Start a private server (own state dir, free ports: other servers on this machine are
  //    untouched) while the configurations are synthesized one after the other.
  const tStart = Date.now();
  const ports = { ETCD_PORT: await freePort(), ETCD_PEER_PORT: await freePort(), APISERVER_PORT: await freePort() };
  serverStarted = true;
  const starting = run('bash', [path.join(HERE, 'start.sh')], { env: { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), RUN_DIR: runDir, FRESH: '1' } })
    .then((r) => ({ ...r, time: secs(tStart) }));

  const tSynth = Date.now();
  for (const c of configs) {
    c.out = path.join(tmp, 'out', c.label.replace(/[^A-Za-z0-9._-]+/g, '_'));
    fs.mkdirSync(path.dirname(c.out), { recursive: true });
    const r = await run('npm', ['run', '--silent', 'synth', '--', '--config', c.dir, '--out', c.out], { cwd: ROOT });
    if (r.code !== 0) {
      console.error(`synth of ${c.label} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
      await starting; // so that stop.sh finds both pidfiles
      process.exit(1);
    }
  }
  console.log(`== synthesized ${configs.length} configurations in ${secs(tSynth)}`);

  // 2. The server.
  const started = await starting;
  if (started.code !== 0) {
    console.error(`kube-apiserver did not start:\n${started.stdout}${started.stderr}`);
    process.exit(1);
  }
  process.env.KUBECONFIG = path.join(runDir, 'kubeconfig');
  const version = await kubectl(['version', '--short']);
  console.log(`== kube-apiserver ready after ${started.time} (${version.stdout.trim().split('\n').join(', ')}; client ${KUBECTL})`);

  // 3. CRDs for real.
  const crdGroups = new Set();
  for (const file of fs.readdirSync(path.join(ROOT, 'crds')).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const crd = YAML.parse(fs.readFileSync(path.join(ROOT, 'crds', file), 'utf8'));
    const removed = stripNewerCrdFeatures(crd);
    const r = await kubectl(['create', '-f', '-'], JSON.stringify(crd));
    if (r.code !== 0) {
      console.error(`CRD ${file} was not registered:\n${r.stderr}`);
      process.exit(1);
    }
    crdGroups.add(crd.spec.group);
    if (Object.keys(removed).length) {
      console.log(`tolerated: CRD ${crd.metadata.name}: removed features newer than 1.20 before registering: ${Object.entries(removed).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    }
  }
  const established = await kubectl(['wait', '--for', 'condition=established', '--timeout=60s', 'crd', '--all']);
  if (established.code !== 0) {
    console.error(`CRDs not established:\n${established.stderr}`);
    process.exit(1);
  }

  // 4. Dry runs.
  const tDry = Date.now();
  const totals = { accepted: 0, tolerated: 0, rejected: 0 };
  const rows = [];
  for (const c of configs) {
    const tConfig = Date.now();
    const multiCluster = !fs.existsSync(path.join(c.dir, 'platform.yaml'));
    const tools = describe(c.dir).map((d) => d.tool);
    const objs = manifests(c.out, multiCluster);
    const counts = { accepted: 0, tolerated: 0, rejected: 0 };
    const reject = (o, msg) => { counts.rejected++; console.log(`REJECTED [${c.label}] ${o.file} ${o.obj.kind}/${o.obj.metadata?.name}:\n    ${msg.trim().split('\n').join('\n    ')}`); };
    const ids = (o) => `${o.obj.kind}/${o.obj.metadata?.name}`;

    // Namespaces (real), per cluster; namespaced objects must land in one of them, or, for the
    // delivery objects, in the GitOps tool's namespace (created here as an installed tool would).
    const namespaces = new Map();
    for (const o of objs) {
      if (!o.obj.kind || !o.obj.apiVersion) { reject(o, 'not a Kubernetes object (no apiVersion/kind)'); continue; }
      if (o.obj.kind === 'Namespace') {
        if (!namespaces.has(o.cluster)) namespaces.set(o.cluster, new Set());
        namespaces.get(o.cluster).add(o.obj.metadata.name);
      }
    }
    // Folders whose objects go to namespaces the output does not create: the GitOps tool's and the
    // monitoring stack's (the dashboard ConfigMap in monitoring.namespace). They exist before the sync.
    const external = (o) => o.folder === '_gitops' || o.folder === '_monitoring';
    const toolNamespaces = new Set(objs.filter((o) => external(o) && o.obj.metadata?.namespace).map((o) => o.obj.metadata.namespace));
    for (const ns of toolNamespaces) await kubectl(['create', 'namespace', ns]); // exists already after the first configuration
    for (const o of objs.filter((x) => x.obj.kind === 'Namespace')) {
      const r = await kubectl(['apply', '-f', '-'], JSON.stringify(o.obj));
      if (r.code === 0) counts.accepted++;
      else reject(o, warnings(r.stderr));
    }

    const rest = objs.filter((o) => o.obj.kind && o.obj.apiVersion && o.obj.kind !== 'Namespace');
    // `create` sends exactly what `apply` sends for an object that does not exist yet (and dry-run
    // stores nothing), without apply's extra GET: one request per object.
    const modes = [['create', '--dry-run=server']];
    if (tools.includes('flux')) modes.push(['apply', '--server-side', '--field-manager=kustomize-controller', '--dry-run=server']);
    const checked = rest.filter((o) => {
      const ns = o.obj.metadata?.namespace;
      if (ns && !(namespaces.get(o.cluster)?.has(ns) || (external(o) && toolNamespaces.has(ns)))) {
        reject(o, `namespace "${ns}" is not created by this output`);
        return false;
      }
      return true;
    });
    // One file per object, sent in batches of CHUNK (kubectl goes on after a failed object), then
    // each object a batch did not report as created alone, for its message.
    const dir = path.join(tmp, 'obj', String(configs.indexOf(c)));
    fs.mkdirSync(dir, { recursive: true });
    checked.forEach((o, i) => { o.path = path.join(dir, `${String(i).padStart(4, '0')}-${o.obj.kind}.json`); fs.writeFileSync(o.path, JSON.stringify(o.obj)); });
    const outcome = new Map(checked.map((o) => [o, []])); // per object: the tolerated messages of each mode
    const key = (o) => `${o.obj.kind.toLowerCase()}${o.obj.apiVersion.includes('/') ? `.${o.obj.apiVersion.split('/')[0]}` : ''}/${o.obj.metadata?.name}`;
    const chunks = [];
    for (let i = 0; i < checked.length; i += CHUNK) chunks.push(checked.slice(i, i + CHUNK));
    for (const mode of modes) {
      const again = (await pool(chunks, JOBS, async (chunk) => {
        const batch = await kubectl([...mode, '-o', 'name', ...chunk.flatMap((o) => ['-f', o.path])]);
        warnings(batch.stderr);
        const applied = new Map();
        for (const line of batch.stdout.split('\n').filter(Boolean)) applied.set(line, (applied.get(line) ?? 0) + 1);
        const expected = new Map();
        for (const o of chunk) expected.set(key(o), (expected.get(key(o)) ?? 0) + 1);
        return chunk.filter((o) => outcome.get(o) && applied.get(key(o)) !== expected.get(key(o)));
      })).flat();
      await pool(again, JOBS, async (o) => {
        const r = await kubectl([...mode, '-f', o.path]);
        if (r.code === 0) return;
        const err = warnings(r.stderr);
        const t = TOLERATED.map((t) => ({ t, detail: t.match(err, o.obj, crdGroups) })).find((x) => x.detail);
        if (!t) {
          reject(o, `${mode.join(' ')}: ${err}`);
          outcome.set(o, undefined);
          return;
        }
        outcome.get(o).push(`${t.t.name}: ${t.detail}`);
        console.log(`tolerated: [${c.label}] ${o.file} ${ids(o)} (${mode.join(' ')}): ${t.t.name}: ${t.detail}\n    ${err.trim().split('\n').join('\n    ')}`);
      });
    }
    for (const result of outcome.values()) {
      if (!result) continue;
      if (result.length) counts.tolerated++;
      else counts.accepted++;
    }
    rows.push({ label: c.label, total: objs.length, ...counts, time: secs(tConfig) });
    for (const k of Object.keys(totals)) totals[k] += counts[k];
  }
  const dryTime = secs(tDry);

  console.log('== dry run per configuration (objects: accepted / tolerated / rejected)');
  const width = Math.max(...rows.map((r) => r.label.length));
  for (const r of rows) console.log(`   ${r.label.padEnd(width)}  ${String(r.total).padStart(3)} objects: ${r.accepted} accepted, ${r.tolerated} tolerated, ${r.rejected} rejected  (${r.time})`);
  console.log(`== total ${totals.accepted + totals.tolerated + totals.rejected} objects: ${totals.accepted} accepted, ${totals.tolerated} tolerated, ${totals.rejected} rejected`);
  console.log(`== timing: dry runs ${dryTime}, whole script ${secs(t0)}`);
  if (totals.rejected > 0) {
    console.log('FAILED: the API server rejected objects (see REJECTED above)');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exitCode = 1;
});
