// The package as a vendor gets it: pack, install the tarball into a fresh project, and use it
// there by package name — ESM, CommonJS, TypeScript (node16 and bundler), the bin, the test matchers,
// the README's examples. One pack and one install; the checks then run side by side.
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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
        `tyokyky validate: unknown profile '${FI_PATIENT}': it is in the FHIR package hl7.fhir.fi.base 2.0.0-rc2, which was not found (searched `,
      );
      expect(r.stderr).toContain(join(tmp, '.fhir', 'packages'));
      // The checkout's ../shared/fhir-packages is no folder of an installed package.
      expect(r.stderr).not.toContain(join('node_modules', 'shared'));
      expect(r.stderr).toContain(
        'give it with --package PATH (a .tgz or folder) or put it in a folder named in TYOKYKY_FHIR_PACKAGES',
      );
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
