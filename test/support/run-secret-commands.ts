/**
 * Runs what `npm run secrets` prints in bash, with a recording `kubectl` first on PATH, and reports
 * every Secret the commands would create and every argument any kubectl call got. The stand-in
 * saves its arguments and its standard input; `--from-env-file` input is parsed as kubectl parses
 * env files (KEY=VALUE lines, leading blanks dropped, `#` comments and blank lines skipped).
 * With `realKubectl`, the recorder hands each call to that kubectl with `--dry-run=client -o json`
 * (no cluster needed), so the Secret is what kubectl itself builds.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface CreatedSecret {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  /** Decoded values by key. */
  readonly data: Record<string, string>;
}

export interface ShellRun {
  readonly status: number;
  readonly stderr: string;
  /** Arguments of every kubectl call, in order. */
  readonly argv: readonly string[][];
  readonly secrets: readonly CreatedSecret[];
}

const RECORDER = `#!/bin/bash
n=$(ls "$LOG" | wc -l)
printf '%s\\0' "$@" > "$LOG/$n.argv"
if [ -n "$REAL_KUBECTL" ]; then
  "$REAL_KUBECTL" "$@" --dry-run=client -o json > "$LOG/$n.json"
else
  cat > "$LOG/$n.stdin"
fi
`;

/** Runs `script` in bash with `variables` as shell variables (not exported: set as `read -rs` would). */
export function runSecretCommands(script: string, variables: Record<string, string>, options: { realKubectl?: string } = {}): ShellRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-commands-'));
  try {
    const bin = path.join(dir, 'bin');
    const log = path.join(dir, 'log');
    fs.mkdirSync(bin);
    fs.mkdirSync(log);
    fs.writeFileSync(path.join(bin, 'kubectl'), RECORDER, { mode: 0o755 });
    // Assignments, as `read -rs` leaves them: shell variables, not in kubectl's environment.
    const assignments = Object.entries(variables).map(([name, value]) => `${name}=${shellQuote(value)}`).join('\n');
    const result = spawnSync('bash', ['-e', '-c', `${assignments}\n${script}\n`], {
      env: { PATH: `${bin}:${process.env.PATH}`, LOG: log, HOME: dir, ...(options.realKubectl ? { REAL_KUBECTL: options.realKubectl } : {}) },
      encoding: 'utf8',
    });
    const calls = fs.readdirSync(log).filter((f) => f.endsWith('.argv')).map((f) => Number(f.split('.')[0])).sort((a, b) => a - b);
    const argv = calls.map((n) => fs.readFileSync(path.join(log, `${n}.argv`), 'utf8').split('\0').slice(0, -1));
    const secrets = calls.map((n, i) => {
      const json = path.join(log, `${n}.json`);
      if (fs.existsSync(json)) {
        const secret = JSON.parse(fs.readFileSync(json, 'utf8'));
        return {
          namespace: secret.metadata.namespace,
          name: secret.metadata.name,
          type: secret.type ?? 'Opaque',
          data: Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v as string, 'base64').toString('utf8')])),
        };
      }
      return fromArgs(argv[i]!, fs.readFileSync(path.join(log, `${n}.stdin`), 'utf8'));
    });
    return { status: result.status ?? -1, stderr: result.stderr, argv, secrets };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What `kubectl -n NS create secret generic NAME [--type=T] --from-env-file=/dev/stdin | --from-file=K=/dev/stdin` builds. */
function fromArgs(args: readonly string[], stdin: string): CreatedSecret {
  const [flag, namespace, create, secret, kind, name, ...rest] = args;
  if (flag !== '-n' || create !== 'create' || secret !== 'secret' || kind !== 'generic') throw new Error(`unexpected kubectl call: ${args.join(' ')}`);
  let type = 'Opaque';
  const data: Record<string, string> = {};
  for (const arg of rest) {
    if (arg.startsWith('--type=')) type = arg.slice('--type='.length);
    else if (arg === '--from-env-file=/dev/stdin') {
      for (const raw of stdin.split('\n')) {
        const line = raw.replace(/^\s+/, '');
        if (line === '' || line.startsWith('#')) continue;
        const at = line.indexOf('=');
        data[line.slice(0, at)] = line.slice(at + 1);
      }
    } else if (/^--from-file=[^=]+=\/dev\/stdin$/.test(arg)) data[arg.slice('--from-file='.length, arg.lastIndexOf('='))] = stdin;
    else throw new Error(`unexpected kubectl argument: ${arg}`);
  }
  return { namespace: namespace!, name: name!, type, data };
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
