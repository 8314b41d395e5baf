// The package as a vendor gets it: pack, install the tarball into a fresh project, and use it
// there by package name — ESM, CommonJS, TypeScript (node16 and bundler), the bin, the test matchers,
// the README's examples, the TypeScript examples of docs/sdk.md and docs/validation.md, and what it
// says when FI Base (not shipped) is not found. One pack and one install; the checks then run side by side.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { toFhir } from '../../src/mapping/index.ts';
import {
  type Packed,
  type Run,
  ensureBuilt,
  installConsumerProject,
  linkModule,
  pack,
  root,
  run,
} from './consumer.ts';

const CONSUMER_FILES = [
  'esm.mjs',
  'cjs.cjs',
  'sdk-modules.mjs',
  'consumer.ts.txt',
  'tsconfig.node16.json',
  'tsconfig.bundler.json',
  'matchers.test.ts.txt',
];
const node = process.execPath;
const FI_PATIENT = 'https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/fi-base-patient';
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');

/** The README's JavaScript examples that import the package by name. */
function readmeExamples(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .filter((code) => code.includes("from 'tyokyky-fhir"));
}

/** The TypeScript blocks of these docs and how many each holds: all are type-checked as written. */
const DOC_BLOCKS: Record<string, number> = { 'docs/sdk.md': 3, 'docs/validation.md': 1 };

function docExamples(): Array<{ doc: string; code: string }> {
  return Object.keys(DOC_BLOCKS).flatMap((doc) =>
    [...readFileSync(join(root, doc), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => ({
      doc,
      code: m[1] as string,
    })),
  );
}

/** FI Base as the checkout keeps it; an installed package never looks there (TYOKYKY_FHIR_PACKAGES does). */
const SHARED_PACKAGES = join(root, '..', 'shared', 'fhir-packages');
const HAS_FI = existsSync(join(SHARED_PACKAGES, 'hl7.fhir.fi.base-2.0.0-rc2.tgz'));
const NEEDS_FI = HAS_FI ? '' : ' [skipped: needs hl7.fhir.fi.base-2.0.0-rc2.tgz in ../shared/fhir-packages]';
const FI_BASE_LINE =
  /^FI Base \(hl7\.fhir\.fi\.base 2\.0\.0-rc2\) not found: its own rules are not checked \(searched [^)]*\); .*TYOKYKY_FHIR_PACKAGES.*--package.*docs\/validation\.md/;

/** A free port of 127.0.0.1 in 18000–18999. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const port = 18000 + ((process.pid + i) % 1000);
    const free = await new Promise<boolean>((done) => {
      const probe = createServer()
        .once('error', () => done(false))
        .listen(port, '127.0.0.1', () => probe.close(() => done(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 18000–18999');
}

/** `tyokyky serve` of the installed package until it logs that it listens; its log lines, then stopped. */
async function serveLogs(env: NodeJS.ProcessEnv): Promise<{ lines: string[]; code: number | null }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    join(app, 'node_modules', '.bin', 'tyokyky'),
    ['serve', '--port', String(port), '--data-dir', 'memory://'],
    { cwd: app, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const listening = await new Promise<boolean>((done) => {
    const timer = setTimeout(() => done(false), 240_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('facade listening on')) {
        clearTimeout(timer);
        done(true);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => done(false));
  });
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const code = await exited;
  return { lines: listening ? out.split('\n').filter(Boolean) : [`did not start: ${out}`], code };
}

let tmp: string;
let app: string;
let packed: Packed;
let linked: string[];
const runs: Record<string, Promise<Run>> = {};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tyokyky-pack-'));
  app = join(tmp, 'vendor-app');
  mkdirSync(app);
  await ensureBuilt();
  packed = await pack(tmp);
  linked = installConsumerProject(app, packed.tarball);
  // TypeScript sources are kept as .txt here so the project's own tsc and vitest leave them alone.
  for (const f of CONSUMER_FILES)
    copyFileSync(join(import.meta.dirname, 'consumer', f), join(app, f.replace(/\.txt$/, '')));
  // Test tooling is the vendor's own; here the checkout's Node types and vitest stand in for it.
  for (const tool of ['vitest', '@types/node']) linkModule(app, tool);
  writeFileSync(
    join(app, 'patient.json'),
    JSON.stringify({
      resourceType: 'Patient',
      id: 'p1',
      gender: 'mal',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
    }),
  );
  const examples = readmeExamples();
  examples.forEach((code, i) => writeFileSync(join(app, `readme-${i}.mjs`), code));
  const docs = docExamples().map(({ doc, code }, i) => {
    const file = `${doc.replace(/\W+/g, '-')}-${i}.ts`;
    writeFileSync(join(app, file), code);
    return file;
  });
  writeFileSync(
    join(app, 'tsconfig.docs.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'Node16',
        moduleResolution: 'Node16',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
      files: docs,
    }),
  );
  // A tyokyky-patient whose FI Base municipality extension carries a string, not a Coding.
  const patient = toFhir(suvi)
    .entry?.map((e) => e.resource)
    .find((r) => r?.resourceType === 'Patient') as Patient;
  writeFileSync(
    join(app, 'string-municipality.json'),
    JSON.stringify({
      ...patient,
      extension: patient.extension?.map(({ valueCoding, ...e }) =>
        e.url.endsWith('/municipality-code')
          ? { ...e, valueString: valueCoding?.code }
          : { ...e, valueCoding },
      ),
    }),
  );
  writeFileSync(
    join(app, 'fi-base-required.mjs'),
    `import { createValidator, fiBaseMissing } from 'tyokyky-fhir/validation';
const found = await createValidator();
let required;
try {
  await createValidator({ fiBase: 'required' });
  required = 'loaded';
} catch (e) {
  required = e.message;
}
console.log(JSON.stringify({ packages: found.packages.map((p) => p.name), missing: fiBaseMissing(found), required }));
`,
  );

  // Everything below starts at once; each test awaits its own run.
  runs.esm = run(node, ['esm.mjs'], app);
  runs.cjs = run(node, ['--no-warnings', 'cjs.cjs'], app);
  runs.modules = run(node, ['sdk-modules.mjs', join(tmp, 'modules.log')], app);
  // One tsc in build mode checks both projects (they share the parsed declaration files).
  runs.typescript = run(node, [tsc, '-b', 'tsconfig.node16.json', 'tsconfig.bundler.json'], app);
  runs.bin = run(
    'npx',
    ['--offline', '--no-install', 'tyokyky', 'validate', '--format', 'junit', 'patient.json'],
    app,
    { TYOKYKY_CACHE_DIR: join(tmp, 'bin-cache') },
  );
  // Installed, ../shared is not beside the package: an FI Base profile names the missing package.
  runs.noFiBase = run(
    'npx',
    ['--offline', '--no-install', 'tyokyky', 'validate', '--profile', FI_PATIENT, 'patient.json'],
    app,
    { HOME: tmp, TYOKYKY_FHIR_PACKAGES: '' },
  );
  runs.docs = run(node, [tsc, '-p', 'tsconfig.docs.json'], app);
  // Installed, with an empty home and no TYOKYKY_FHIR_PACKAGES: FI Base is nowhere to be found.
  const noFiBase = { HOME: tmp, TYOKYKY_FHIR_PACKAGES: '' };
  const bin = ['--offline', '--no-install', 'tyokyky', 'validate', '--no-progress'];
  runs.fiBaseWarning = run('npx', [...bin, 'patient.json'], app, noFiBase);
  runs.requireFiBase = run('npx', [...bin, '--require-fi-base', 'patient.json'], app, noFiBase);
  runs.fiBaseApi = run(node, ['fi-base-required.mjs'], app, noFiBase);
  runs.serve = serveLogs(noFiBase).then(({ lines, code }) => ({
    code: code ?? 0,
    stdout: lines.join('\n'),
    stderr: '',
    ms: 0,
  }));
  if (HAS_FI)
    runs.withFiBase = run('npx', [...bin, '--require-fi-base', 'string-municipality.json'], app, {
      HOME: tmp,
      TYOKYKY_FHIR_PACKAGES: SHARED_PACKAGES,
    });
  runs.matchers = run(node, [vitest, 'run', '--root', app, 'matchers.test.ts'], app);
  runs.readme = Promise.all(examples.map((_, i) => run(node, [`readme-${i}.mjs`], app))).then((all) => ({
    code: all.some((r) => r.code !== 0) ? 1 : 0,
    stdout: all.map((r) => r.stdout).join(''),
    stderr: all.map((r) => r.stderr).join(''),
    ms: Math.max(0, ...all.map((r) => r.ms)),
  }));
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(runs));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const SLOW = { timeout: 300_000 };

describe('npm pack → npm install → use by package name', () => {
  it('the tarball holds dist (JS, .d.ts, maps), bin, profiles/package, mappings, the docs the README links to and the LICENSE; no tests, benches, sources, example tools or data', () => {
    const tops = new Set(packed.files.map((f) => f.split('/')[0]));
    expect([...tops].sort()).toEqual([
      'LICENSE',
      'README.md',
      'bin',
      'dist',
      'docs',
      'mappings',
      'package.json',
      'profiles',
    ]);
    expect(packed.files).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'dist/index.js.map',
        'dist/cli/main.js',
        'dist/validation/r4-core-index.json',
        'dist/testing/index.d.ts',
        'bin/tyokyky.js',
        'profiles/package/package.json',
        'mappings/fhir-map.json',
      ]),
    );
    expect(
      packed.files.filter((f) =>
        /^(tests|bench|src|data|examples)\/|\.test\.|generate-examples|personas\./.test(f),
      ),
    ).toEqual([]);
    // Every docs/… link of the README resolves inside the installed package.
    const docs = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/\]\((docs\/[^)#\s]+)/g)].map(
      (m) => m[1] as string,
    );
    expect(docs.length).toBeGreaterThan(0);
    expect(docs.filter((f) => !packed.files.includes(f))).toEqual([]);
    expect(
      // Only compiled FHIR packages: our IG and, where present, Kanta PHR's definitions it builds on.
      packed.files.filter((f) => /^profiles\/(?!package\/|kanta-phr\/package\/)/.test(f)),
    ).toEqual([]);
    console.info(
      `tarball ${(packed.size / 1024).toFixed(0)} kB (unpacked ${(packed.unpackedSize / 1024).toFixed(0)} kB, ${packed.files.length} files); ${linked.length} declared dependencies`,
    );
    expect(linked).toEqual(expect.arrayContaining(['@medplum/core', 'express', 'jsonwebtoken']));
  });

  it(
    'ESM: each public entry imports by name; maps, validates and serves /fhir/metadata; internal paths are not exported',
    SLOW,
    async () => {
      const r = await runs.esm;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
      expect(out).toMatchObject({
        bundleType: 'transaction',
        patientErrors: 0,
        status: 200,
        metadataType: 'CapabilityStatement',
        fhirVersion: '4.0.1',
        createSync: 'function',
        installFhirMatchers: 'function',
      });
      expect(out.packages).toContain('tyokyky.fhir.workability');
      expect(out.internal).toEqual([
        { path: 'tyokyky-fhir/dist/mapping/index.js', code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' },
        { path: 'tyokyky-fhir/src/mapping/index.ts', code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' },
      ]);
    },
  );

  it('CommonJS require() of the SDK entry works (no top-level await on its path)', SLOW, async () => {
    const r = await runs.cjs;
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ toFhir: 'function', fromFhir: 'function', builders: 'object' });
  });

  it(
    'importing the SDK entry loads no express, pg, PGlite, fhirpath, fsh-sushi or R4 definitions',
    SLOW,
    async () => {
      const r = await runs.modules;
      expect(r.code, r.stderr).toBe(0);
      const { modules, exports } = JSON.parse(r.stdout) as {
        modules: string[];
        exports: number;
      };
      expect(exports).toBeGreaterThan(20);
      expect(modules.some((m) => m.includes('/node_modules/tyokyky-fhir/dist/mapping/'))).toBe(true);
      const heavy =
        /\/node_modules\/(express|pg|@electric-sql\/pglite|fhirpath|fsh-sushi|@medplum\/definitions|@medplum\/core)\//;
      expect(modules.filter((m) => heavy.test(m))).toEqual([]);
      expect(modules.filter((m) => /\/dist\/(validation|store|server|sync)\//.test(m))).toEqual([]);
    },
  );

  it('TypeScript consumers type-check under moduleResolution node16 and bundler ', SLOW, async () => {
    const r = await runs.typescript;
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Both projects were checked: build mode leaves a build info file for each.
    expect(existsSync(join(app, 'tsconfig.node16.tsbuildinfo'))).toBe(true);
    expect(existsSync(join(app, 'tsconfig.bundler.tsbuildinfo'))).toBe(true);
  });

  it(
    'npx tyokyky validate runs the installed bin: JUnit XML, the failure carries the issue, exit 1',
    SLOW,
    async () => {
      const r = await runs.bin;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(
        /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="tyokyky validate" tests="1" failures="1"/,
      );
      expect(r.stdout).toContain('<testcase name="patient.json" classname="patient.json">');
      expect(r.stdout).toMatch(
        /<failure message="1 error\(s\), \d+ warning\(s\)" type="error">error +Patient\.gender/,
      );
      // The R4 definitions were read through the index shipped in dist/: none were split into a cache,
      // and nothing was written inside the installed package (it may be read-only to its user).
      const cache = join(tmp, 'bin-cache');
      expect(existsSync(cache) ? readdirSync(cache).filter((d) => d.includes('r4-core-')) : []).toEqual([]);
      expect(existsSync(join(app, 'node_modules', 'tyokyky-fhir', 'node_modules', '.cache'))).toBe(false);
    },
  );

  it(
    'a profile from a FHIR package that is not installed names the package, the folders searched and how to give it',
    SLOW,
    async () => {
      const r = await runs.noFiBase;
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(
        `tyokyky validate: unknown profile '${FI_PATIENT}': it is in FI Base, and FI Base (hl7.fhir.fi.base 2.0.0-rc2) not found: its own rules are not checked (searched `,
      );
      expect(r.stderr).toContain(join(tmp, '.fhir', 'packages'));
      // The checkout's ../shared/fhir-packages is no folder of an installed package.
      expect(r.stderr).not.toContain(join('node_modules', 'shared'));
      expect(r.stderr).toContain(
        "in a folder named in TYOKYKY_FHIR_PACKAGES (':'-separated), or give it as a package (tyokyky validate --package, the validator's packages option)",
      );
    },
  );

  it(
    'FI Base not found: validate says so in one stderr line after the results; --require-fi-base exits 2 with it',
    SLOW,
    async () => {
      const warned = await runs.fiBaseWarning;
      expect(warned.code, warned.stderr).toBe(1); // patient.json has an invalid gender
      expect(warned.stdout).toContain('Patient.gender');
      const lines = warned.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^tyokyky validate: FI Base \(/);
      expect(lines[0]?.replace('tyokyky validate: ', '')).toMatch(FI_BASE_LINE);
      expect(lines[0]).toContain(`(searched ${join(tmp, '.fhir', 'packages')})`);
      const refused = await runs.requireFiBase;
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toBe(warned.stderr);
    },
  );

  it(
    "FI Base not found: createValidator({ fiBase: 'required' }) throws naming the package, the folders searched and how to supply it",
    SLOW,
    async () => {
      const r = await runs.fiBaseApi;
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout) as { packages: string[]; missing?: string; required: string };
      expect(out.packages).not.toContain('hl7.fhir.fi.base');
      expect(out.packages).toContain('hl7.fhir.r4.core');
      expect(out.missing).toMatch(FI_BASE_LINE);
      expect(out.required).toBe(out.missing);
      expect(out.required).toContain(join(tmp, '.fhir', 'packages'));
      expect(out.required).not.toContain(join('node_modules', 'shared'));
    },
  );

  it('FI Base not found: tyokyky serve logs one warn line at startup', SLOW, async () => {
    const r = await runs.serve;
    const logs = r.stdout.split('\n');
    expect(
      logs.some((l) => l.includes('facade listening on')),
      r.stdout,
    ).toBe(true);
    // One warn line of FI Base among the others (auth off ...).
    const warnings = logs.filter((l) => l.includes('"level":40') && l.includes('FI Base'));
    expect(warnings).toHaveLength(1);
    expect((JSON.parse(warnings[0] as string) as { msg: string }).msg).toMatch(FI_BASE_LINE);
  });

  it.skipIf(!HAS_FI)(
    `FI Base supplied through TYOKYKY_FHIR_PACKAGES: --require-fi-base validates, and FI Base's own rules are checked${NEEDS_FI}`,
    SLOW,
    async () => {
      const r = await runs.withFiBase;
      expect(r?.code, r?.stderr).toBe(1);
      expect(r?.stderr).toBe('');
      expect(r?.stdout).toMatch(/Patient\.extension\[0\]\.valueString .*municipality-code/);
    },
  );

  it(
    'the TypeScript examples of docs/sdk.md and docs/validation.md type-check as written against the installed package',
    SLOW,
    async () => {
      const found = docExamples();
      for (const [doc, count] of Object.entries(DOC_BLOCKS))
        expect(found.filter((b) => b.doc === doc).length, doc).toBe(count);
      const r = await runs.docs;
      expect(r.stdout + r.stderr).toBe('');
      expect(r.code).toBe(0);
    },
  );

  it('a vendor vitest file uses toConformTo / toBeValidFhir from tyokyky-fhir/testing', SLOW, async () => {
    const r = await runs.matchers;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Tests +2 passed \(2\)/);
  });

  it(
    "the README's SDK and validator examples run as written against the installed package",
    SLOW,
    async () => {
      expect(readmeExamples().length).toBeGreaterThanOrEqual(2);
      const r = await runs.readme;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    },
  );
});
