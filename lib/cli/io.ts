/**
 * What every command of the project shares: how it talks (Io), how it reads its arguments
 * (`node:util` parseArgs: `--flag value` and `--flag=value`, `--help` on each), and how a failure
 * becomes one line and an exit code:
 *
 *   0 done · 1 bad input or refused (nothing written) · 2 usage error · 3 internal error (a bug)
 */
import { parseArgs, ParseArgsConfig } from 'node:util';

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Transient progress on an interactive terminal; absent where output is a log (CI, pipes). */
  readonly progress?: (text: string) => void;
}

/** The process's own terminal: progress only on a TTY and never under CI. */
export function processIo(): Io {
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  let shown = false;
  return {
    out: (line) => {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
      process.stdout.write(`${line}\n`);
    },
    err: (line) => {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
      process.stderr.write(`${line}\n`);
    },
    progress: tty
      ? (text) => {
          process.stderr.write(`\r\x1b[K${text}`);
          shown = text !== '';
        }
      : undefined,
  };
}

export const EXIT = { ok: 0, refused: 1, usage: 2, internal: 3 } as const;

/** A command line the command cannot understand: printed with the usage, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `parseArgs` with the project's conventions: unknown options and stray positionals are usage
 * errors. A bare `--` is ignored, so `npm run synth -- --allow-removal -- --jobs 2` (two npm
 * separators typed in a row) still works.
 */
export function parseCommandLine<O extends Options>(argv: readonly string[], options: O, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv.filter((arg) => arg !== '--'), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument '${parsed.positionals[positionals]}'`);
  return parsed;
}

/** A positive whole number option (`--jobs`, `--concurrency`), or a usage error that says what is allowed. */
export function wholeNumber(name: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${name} must be a whole number from 1 to ${max}, got '${value}'`);
  }
  return Number(value);
}

/**
 * Runs a command body and turns what it throws into one line on stderr and an exit code: known
 * failures (bad input, refusals: `known` returns their text) exit 1, usage errors 2 (with the
 * usage), anything else is a bug: exit 3 with a hint to report it (the stack only with
 * TENANT_RUNNERS_DEBUG=1). `unchanged()` may add a line after a failure (what was left as it was).
 */
export function runCommand(
  name: string,
  usage: string,
  io: Io,
  known: (error: unknown) => string | undefined,
  body: () => number,
  unchanged: () => string | undefined = () => undefined,
): number {
  try {
    return body();
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${name}: ${error.message}\n${usage}`);
      return EXIT.usage;
    }
    const message = known(error);
    if (message !== undefined) {
      io.err(message);
    } else {
      const e = error instanceof Error ? error : new Error(String(error));
      io.err(`${name}: internal error: ${e.message}`);
      if (process.env.TENANT_RUNNERS_DEBUG) io.err(e.stack ?? '');
      io.err('This is a bug in tenant-runners, not in your configuration: please report it with the line above (TENANT_RUNNERS_DEBUG=1 adds the stack trace).');
    }
    const after = unchanged();
    if (after) io.err(after);
    return message !== undefined ? EXIT.refused : EXIT.internal;
  }
}
