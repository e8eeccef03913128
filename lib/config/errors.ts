/** One problem in the configuration, with the place it comes from. */
export interface ConfigProblem {
  /** Path of the file, relative to the working directory when possible. */
  readonly file: string;
  /** 1-based line and column; 0 when the problem is about the file as a whole. */
  readonly line: number;
  readonly column: number;
  /** Key path such as `runners[0].limit`; empty for the whole file. */
  readonly keyPath: string;
  readonly message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.column}` : problem.file;
  return problem.keyPath ? `${where} ${problem.keyPath}: ${problem.message}` : `${where} ${problem.message}`;
}

export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.message.localeCompare(b.message),
  );
}

/** Thrown by the loader with every problem found, so one run reports all of them. */
export class ConfigError extends Error {
  public readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const sorted = sortProblems(problems);
    super(`${sorted.length} configuration problem${sorted.length === 1 ? '' : 's'}:\n${sorted.map(formatProblem).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = sorted;
  }
}

export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    // A key may come from a hostile file: control characters are escaped so the line stays one line.
    // eslint-disable-next-line no-control-regex
    else out += (out ? '.' : '') + String(segment).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  }
  return out;
}

/**
 * Valid configuration that still cannot become output (e.g. a ConfigMap over Kubernetes' 1 MiB):
 * found while synthesizing, reported like a configuration problem (exit 1), never as a bug.
 */
export class OutputLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputLimitError';
  }
}
