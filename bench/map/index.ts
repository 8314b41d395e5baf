/**
 * Domain ⇄ FHIR mapping speed for generated records, against a JSON parse+stringify floor of the same
 * Bundles measured in the same run. `npx tsx bench/map/index.ts [count] [repeats]` (default 10,000, 5).
 *
 * Two kinds of "record":
 * - client record: a `WorkAbilityRecord` with the client alone → a Bundle of 1 resource (Patient).
 *   The target (mapping alone ≥ 50,000 records/s) is for this record.
 * - full record: client + organisations, professionals, team, self-assessments, assessments, consents,
 *   plans, referrals → a Bundle of ~13.5 resources (see the printed average).
 *
 * Each row is the median of `repeats` timed passes over all its records, after a warm-up pass.
 * records/s is wall-clock; "cpu rec/s" divides by the process's CPU time over the same passes
 * (closer to the code's own cost when the machine is shared; it includes GC helper threads).
 */
import { pathToFileURL } from 'node:url';
import type { Bundle } from '@medplum/fhirtypes';
import fc from 'fast-check';
import type { WorkAbilityRecord } from '../../src/domain/index.ts';
import { fromFhir, toFhir } from '../../src/mapping/index.ts';
import { type Validator, loadProjectValidator } from '../../src/validation/index.ts';
import { clientArb, recordArb } from '../../tests/mapping/arbitraries.ts';

const TARGET = 50_000;

interface Row {
  name: string;
  records: number;
  resources: number;
  /** Median wall seconds and CPU seconds of one pass. */
  seconds: number;
  cpuSeconds: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median of `repeats` passes of `fn` over all items, after one warm-up pass (JIT, lazy schema compilation). */
function time<T>(
  name: string,
  items: T[],
  resourcesPerItem: number,
  repeats: number,
  fn: (item: T) => unknown,
): Row {
  for (const item of items) fn(item);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    for (const item of items) fn(item);
    const used = process.cpuUsage(cpuStart);
    wall.push((performance.now() - start) / 1000);
    cpu.push((used.user + used.system) / 1e6);
  }
  return {
    name,
    records: items.length,
    resources: items.length * resourcesPerItem,
    seconds: median(wall),
    cpuSeconds: median(cpu),
  };
}

const rate = (r: Row) => r.records / r.seconds;
const fmt = (n: number) => Math.round(n).toLocaleString('en');

function print(title: string, rows: Row[], floor: Row): void {
  console.log(`\n${title}`);
  console.log(
    `${'step'.padEnd(52)}${'records/s'.padStart(11)}${'resources/s'.padStart(13)}${'cpu rec/s'.padStart(11)}${'time vs floor'.padStart(15)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(52)}${fmt(rate(r)).padStart(11)}${fmt(r.resources / r.seconds).padStart(13)}${fmt(r.records / r.cpuSeconds).padStart(11)}${(rate(floor) / rate(r)).toFixed(2).padStart(14)}×`,
    );
  }
}

interface Suite {
  label: string;
  records: WorkAbilityRecord[];
  perRecord: number;
  rows: Row[];
  bundles: Bundle[];
}

/**
 * toFhir whose output is dropped at once (a server answering, a stream being written). Run before any
 * Bundle is kept: once many outputs survive, V8 pretenures the mapping's allocation sites and every
 * later toFhir pays old-generation GC — measured separately in the "keeping" row.
 */
function streamingRows(s: Suite, repeats: number): void {
  s.rows.push(
    time('toFhir (mapping only)', s.records, s.perRecord, repeats, (r) => toFhir(r, { validate: false })),
    time('toFhir + domain validation (ajv + rules)', s.records, s.perRecord, repeats, (r) => toFhir(r)),
  );
}

function keptRows(s: Suite, repeats: number): void {
  let kept: Bundle[] = [];
  const n = s.records.length;
  // One item = the whole batch; the row is then counted in records.
  const row = time(
    'toFhir keeping every Bundle (batch; see note)',
    [s.records],
    s.perRecord * n,
    repeats,
    (all) => {
      kept = all.map((r) => toFhir(r, { validate: false }));
    },
  );
  s.rows.push({ ...row, records: n });
  s.bundles = kept;
}

function fromRows(s: Suite, repeats: number): Row {
  const floor = time('floor: JSON.parse(JSON.stringify(bundle))', s.bundles, s.perRecord, repeats, (b) =>
    JSON.parse(JSON.stringify(b)),
  );
  s.rows.unshift(floor);
  s.rows.push(
    time('fromFhir (mapping only)', s.bundles, s.perRecord, repeats, (b) => fromFhir(b, { validate: false })),
    time('fromFhir + domain validation', s.bundles, s.perRecord, repeats, (b) => fromFhir(b)),
  );
  return floor;
}

function profileRows(s: Suite, validator: Validator, sample: number, repeats: number): void {
  const records = s.records.slice(0, sample);
  const bundles = s.bundles.slice(0, sample);
  s.rows.push(
    time(`toFhir + domain + profile validation (first ${sample})`, records, s.perRecord, repeats, (r) =>
      validator.validate(toFhir(r)),
    ),
    time(`profile validation + fromFhir + domain (first ${sample})`, bundles, s.perRecord, repeats, (b) => {
      validator.validate(b);
      return fromFhir(b);
    }),
  );
}

export default async function run(count = 10_000, repeats = 5): Promise<void> {
  const clients = fc.sample(clientArb, { numRuns: count, seed: 4 }).map((client) => ({ client }));
  const full = fc.sample(recordArb, { numRuns: count, seed: 4 });
  const probe = full.reduce((n, r) => n + toFhir(r, { validate: false }).entry!.length, 0);
  const suites: Suite[] = [
    { label: 'Client record (client alone → Bundle of 1 Patient)', records: clients, perRecord: 1 },
    {
      label: `Full record (client, team, assessments, consents, plans, referrals → Bundle of ${(probe / count).toFixed(1)} resources on average)`,
      records: full,
      perRecord: probe / count,
    },
  ].map((s) => ({ ...s, rows: [], bundles: [] }));

  for (const s of suites) streamingRows(s, repeats);
  for (const s of suites) keptRows(s, repeats);
  const floors = suites.map((s) => fromRows(s, repeats));
  const validator = await loadProjectValidator();
  profileRows(suites[0]!, validator, Math.min(1000, count), repeats);
  profileRows(suites[1]!, validator, Math.min(200, count), repeats);

  console.log(
    `bench/map: ${count.toLocaleString('en')} generated records per kind, median of ${repeats} passes after a warm-up pass`,
  );
  suites.forEach((s, i) => {
    const bytes = s.bundles.reduce((n, b) => n + JSON.stringify(b).length, 0) / s.bundles.length;
    print(`${s.label}; ${fmt(bytes)} JSON characters per Bundle`, s.rows, floors[i]!);
  });
  const client = suites[0]!.rows.find((r) => r.name === 'toFhir (mapping only)')!;
  console.log(
    `\nTarget (issue 4): client-record toFhir, mapping alone ≥ ${fmt(TARGET)} records/s: measured ${fmt(rate(client))} wall, ${fmt(client.records / client.cpuSeconds)} by CPU time → ${rate(client) >= TARGET ? 'met' : 'NOT met'}.`,
  );
  console.log(
    'Note: "keeping every Bundle" maps a whole batch and holds the results; V8 then pretenures the output objects and the pass pays old-generation GC. The other toFhir rows drop each Bundle at once.',
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(Number(process.argv[2] ?? 10_000), Number(process.argv[3] ?? 5));
}
