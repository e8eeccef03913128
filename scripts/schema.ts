// `npm run schema`: writes config/schema/*.schema.json from lib/config/schema.ts. CI regenerates
// them and fails on any difference, so editors never see a stale schema.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { editorSchemas } from '../lib/config/json-schema';

const outDir = path.join(process.cwd(), 'config', 'schema');
fs.mkdirSync(outDir, { recursive: true });
for (const [name, schema] of Object.entries(editorSchemas())) {
  fs.writeFileSync(path.join(outDir, `${name}.schema.json`), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(`wrote ${path.relative(process.cwd(), outDir)}/{platform,tenant}.schema.json`);
