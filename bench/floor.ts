/**
 * The floor of the benchmark, run as a process of its own: the same objects our synth wrote,
 * as plain JavaScript objects, written one file per object with the `yaml` package alone (same
 * stringify options as lib/synth/engine.ts), into a fresh directory. No cdk8s, no configuration, no
 * atomic swap: what any synthesizer of this output has to pay at least.
 *
 * `node build/bench/floor.js INPUT.json OUT_DIR` where INPUT.json is `[[path, object or text], ...]`.
 * Prints `{"inputMs": …, "objects": …, "bytes": …}`: the bench subtracts inputMs (reading and
 * parsing INPUT.json, which stands in for building the objects) from the wall time, so the floor
 * is, if anything, lower than a real one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';

// The options of toYaml() in lib/synth/output.ts, which writes these bytes with blockYaml
// (lib/render/block-yaml.ts, byte-identical to `yaml`'s stringify and faster). The floor keeps the
// `yaml` package, as the issue defines it.
const YAML_OPTIONS = { lineWidth: 0 } as const;

function main(): void {
  const [input, outDir] = process.argv.slice(2);
  if (!input || !outDir) throw new Error('usage: floor INPUT.json OUT_DIR');
  const start = process.hrtime.bigint();
  const objects = JSON.parse(fs.readFileSync(input, 'utf8')) as [string, unknown][];
  const inputMs = Number(process.hrtime.bigint() - start) / 1e6;

  const dirs = new Set<string>();
  let bytes = 0;
  for (const [file, object] of objects) {
    const target = path.join(outDir, file);
    const dir = path.dirname(target);
    if (!dirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      dirs.add(dir);
    }
    // Text files (the dist/ summary, CI templates) are written as they are.
    const text = typeof object === 'string' ? object : stringify(object, YAML_OPTIONS);
    fs.writeFileSync(target, text);
    bytes += Buffer.byteLength(text);
  }
  process.stdout.write(`${JSON.stringify({ inputMs, objects: objects.length, bytes })}\n`);
}

main();
