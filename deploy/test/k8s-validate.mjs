// Schema check of rendered Kubernetes manifests, offline (no API server here):
//   1. ajv pass: each object through kubernetes-models' validate() (types, required fields);
//   2. strict pass: each object as a typed TypeScript literal, `tsc --strict --noEmit`
//      (unknown or misspelled fields, which the JSON schemas allow).
// Kinds with no schema in kubernetes-models (CRDs such as KEDA's ScaledObject) are
// checked for apiVersion/kind/metadata.name only and reported as such.
// Usage: node k8s-validate.mjs <scratch dir with node_modules> <rendered.yaml>...
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [scratchArg, ...files] = process.argv.slice(2);
const scratch = resolve(scratchArg);
const require = createRequire(join(scratch, 'package.json'));
const { parseAllDocuments } = require('yaml');
let passed = 0;
let failed = 0;
const ts = [];
const say = (m) => process.stdout.write(`${m}\n`);

function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [null, apiVersion];
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

let n = 0;
for (const file of files) {
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const obj = doc.toJSON();
    if (!obj) continue;
    const id = `${obj.kind}/${obj.metadata?.name} (${file})`;
    if (doc.errors.length) {
      failed++;
      say(`FAIL ${id}: YAML ${doc.errors[0].message}`);
      continue;
    }
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
      failed++;
      say(`FAIL ${id}: apiVersion, kind and metadata.name are required`);
      continue;
    }
    // kustomize wraps long base64 values; the API server's decoder skips the newlines, ajv's "byte" format does not.
    if (obj.kind === 'Secret' && obj.data)
      for (const k of Object.keys(obj.data)) obj.data[k] = String(obj.data[k]).replace(/\s+/g, '');
    const mod = modulePath(obj.apiVersion, obj.kind);
    const file_ = join(scratch, 'node_modules', `${mod}.js`);
    let Klass;
    try {
      if (!existsSync(file_)) throw new Error('no schema');
      const m = await import(pathToFileURL(file_).href);
      Klass = m[obj.kind] ?? m.default;
    } catch {
      passed++;
      say(`ok   ${id}: no schema in kubernetes-models (custom resource), structure only`);
      continue;
    }
    try {
      new Klass(obj).validate();
      passed++;
      say(`ok   ${id}`);
    } catch (err) {
      failed++;
      say(`FAIL ${id}: ${err.message}`);
    }
    const name = `m${n++}`;
    ts.push(`import type { I${obj.kind} as T${name} } from '${mod}';`);
    ts.push(`export const ${name}: T${name} = ${JSON.stringify(obj, null, 2)};`);
  }
}

// Strict pass over every object that has types.
const src = join(scratch, 'rendered.ts');
writeFileSync(src, `${ts.join('\n')}\n`);
try {
  execFileSync(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      src,
    ],
    { cwd: scratch, stdio: 'pipe' },
  );
  passed++;
  say(`ok   tsc --strict over ${n} typed objects`);
} catch (err) {
  failed++;
  say(`FAIL tsc --strict over ${n} typed objects:\n${err.stdout?.toString() ?? err.message}`);
}
say(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
