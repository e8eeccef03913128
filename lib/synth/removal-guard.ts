/**
 * The tenant-removal guard: removing a tenant's folder from `dist/` makes GitOps delete the
 * tenant's workloads and every job running there, so the synth refuses it unless told otherwise.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deliveryUnitOfPath, GitOpsTool, removalConsequence } from '../gitops/gitops-chart';

export class RemovalRefusedError extends Error {
  constructor(public readonly tenants: readonly string[], tool?: GitOpsTool) {
    super(
      `refusing to remove tenant${tenants.length === 1 ? '' : 's'} ${tenants.join(', ')} from dist/: ${removalConsequence(tool, tenants.length)}. ` +
        'Run again with --allow-removal (or TENANT_RUNNERS_ALLOW_REMOVAL=1 with cdk8s synth) if that is intended.',
    );
    this.name = 'RemovalRefusedError';
  }
}

/**
 * Tenant folders of an existing tree: the folders that hold a Namespace object (the layout is
 * `<tenant>/` or `<cluster>/<tenant>/`).
 */
export function tenantUnits(files: Iterable<string>): Set<string> {
  const units = new Set<string>();
  for (const file of files) {
    const match = /^(.+)\/namespace-[^/]+\.yaml$/.exec(file);
    if (match) units.add(match[1]);
  }
  return units;
}

/**
 * The tenant folder a file belongs to: its own folder, or for `[<cluster>/]ci/<tenant>/…` (the CI
 * templates) and `[<cluster>/]_gitops/tenants/<tenant>/…` (its Flux Kustomization) the tenant's
 * folder. Undefined for files of no tenant.
 */
export function unitOfPath(file: string, units: ReadonlySet<string>): string | undefined {
  const delivery = deliveryUnitOfPath(file);
  if (delivery && units.has(delivery)) return delivery;
  const ci = /^((?:[^/]+\/)?)ci\/([^/]+)\/[^/]+$/.exec(file);
  if (ci && units.has(`${ci[1]}${ci[2]}`)) return `${ci[1]}${ci[2]}`;
  const folder = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
  return units.has(folder) ? folder : undefined;
}

/**
 * The files Git has committed under `outDir` (paths relative to it), or an empty list outside a
 * Git work tree. Used when `outDir` is missing or empty on disk, so a deleted or wiped `dist/`
 * (the stock cdk8s CLI wipes its output folder) can never let a tenant removal slip through.
 */
export function committedFiles(outDir: string): string[] {
  const absolute = path.resolve(outDir);
  try {
    const listing = execFileSync('git', ['ls-tree', '-r', '--name-only', '--full-name', 'HEAD', '--', absolute], {
      cwd: path.dirname(absolute),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 256 * 1024 * 1024,
    });
    const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: path.dirname(absolute), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const real = path.join(fs.realpathSync(path.dirname(absolute)), path.basename(absolute));
    const prefix = `${path.relative(top, real).split(path.sep).join('/')}/`;
    return listing.split('\n').filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length));
  } catch {
    return [];
  }
}
