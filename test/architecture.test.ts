/**
 * The plan of lib/ (docs/architecture.md) as a test: which wing may import which, and no import
 * cycle between files (type-only imports included: a cycle of types is still a knot for readers).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './support/synth';

const LIB = path.join(ROOT, 'lib');

/** What each wing may import besides itself: other wings, or single files of a wing. */
const ALLOWED: Record<string, readonly string[]> = {
  cli: ['config', 'guards', 'model', 'synth'],
  synth: ['config', 'constructs', 'gitops', 'guards', 'model', 'render'],
  // render/block-yaml is a leaf (it imports only `yaml`): every YAML text of dist/ goes through it.
  constructs: ['config', 'gitops', 'model', 'runner-config', 'render/block-yaml'],
  gitops: ['config', 'model', 'render/block-yaml'],
  render: ['config', 'gitops', 'model'],
  'runner-config': [],
  // npm run runners: GitLab and Kubernetes calls; reads the loaded configuration, writes no dist/.
  runners: ['cli', 'config', 'model'],
  // config/shared-values is a leaf (no imports): flat copies of strings the credential memo keeps.
  guards: ['config/errors', 'config/shared-values'],
  config: ['guards', 'model'],
  // The resolved model derives from validated configuration: it reads only the schema's types.
  model: ['config/schema'],
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

/** lib-relative module paths (`config/load`) a file imports, type-only imports and require() included. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|require\(|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((spec) => path.relative(LIB, path.resolve(path.dirname(file), spec)).split(path.sep).join('/'));
}

const files = sourceFiles(LIB);
const graph = new Map(files.map((f) => [path.relative(LIB, f).replace(/\.ts$/, '').split(path.sep).join('/'), importsOf(f)]));

test('every file of lib/ is in a wing the plan names', () => {
  const wings = new Set([...graph.keys()].map((m) => m.split('/')[0]));
  expect([...wings].filter((w) => !(w in ALLOWED))).toEqual([]);
  expect(Object.keys(ALLOWED).filter((w) => !wings.has(w))).toEqual([]);
});

test('each wing imports only what the plan allows', () => {
  const violations: string[] = [];
  for (const [module, imports] of graph) {
    const wing = module.split('/')[0];
    for (const target of imports) {
      if (target.startsWith('../')) {
        // Outside lib/: only the generated CRD bindings and, for the loader, gitlab-runner's
        // config.toml schema in reference/ (configOverrides are checked against it); never scripts/ or tests.
        const reference = wing === 'config' && target === '../reference/gitlab-runner-config.schema.json';
        if (!target.startsWith('../imports/') && !reference) violations.push(`${module} → ${target}`);
        continue;
      }
      const targetWing = target.split('/')[0];
      if (targetWing === wing) continue;
      if (!ALLOWED[wing].some((allowed) => allowed === targetWing || allowed === target)) violations.push(`${module} → ${target}`);
    }
  }
  expect(violations).toEqual([]);
});

test('no import cycle between the files of lib/', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (module: string, trail: string[]) => {
    if (state.get(module) === 'done') return;
    if (state.get(module) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(module)), module].join(' → '));
      return;
    }
    state.set(module, 'open');
    for (const target of graph.get(module) ?? []) if (graph.has(target)) visit(target, [...trail, module]);
    state.set(module, 'done');
  };
  for (const module of graph.keys()) visit(module, []);
  expect(cycles).toEqual([]);
});

test('docs/architecture.md names every wing and no other', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const named = new Set([...doc.matchAll(/^\| `lib\/([a-z-]+)\/` \|/gm)].map((m) => m[1]));
  expect([...named].sort()).toEqual(Object.keys(ALLOWED).sort());
});
