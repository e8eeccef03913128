// `npm run schema`: writes config/schema/*.schema.json from lib/config/schema.ts. CI regenerates
// them and fails on any difference, so editors never see a stale schema.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT, parseCommandLine, processIo, runCommand } from '../lib/cli/io';
import { editorSchemas } from '../lib/config/json-schema';

const USAGE = `usage: npm run schema [-- --out DIR]
  --out DIR  where to write {platform,tenant}.schema.json (default: config/schema)
  --help     this text`;

const io = processIo();
process.exitCode = runCommand('schema', USAGE, io, () => undefined, () => {
  const { values } = parseCommandLine(process.argv.slice(2), { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.out(USAGE);
    return EXIT.ok;
  }
  const outDir = path.resolve(values.out ?? path.join('config', 'schema'));
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, schema] of Object.entries(editorSchemas())) {
    fs.writeFileSync(path.join(outDir, `${name}.schema.json`), `${JSON.stringify(schema, null, 2)}\n`);
  }
  io.out(`wrote ${path.relative(process.cwd(), outDir)}/{platform,tenant}.schema.json`);
  return EXIT.ok;
});
