import { pathToFileURL } from 'node:url';
/**
 * Domain → FHIR Bundle and back for generated client records, against a JSON parse+stringify floor
 * measured in the same run. `npx tsx bench/map/index.ts [count]` (default 10,000).
 */
import type { Bundle } from '@medplum/fhirtypes';
import fc from 'fast-check';
import type { WorkAbilityRecord } from '../../src/domain/index.ts';
import { fromFhir, toFhir } from '../../src/mapping/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { clientArb, recordArb } from '../../tests/mapping/arbitraries.ts';

interface Row {
  name: string;
  records: number;
  resources: number;
  seconds: number;
}

/** Times `fn` over all items after a warm-up over the first tenth (JIT, lazy schema compilation). */
function time<T>(name: string, items: T[], resources: number, fn: (item: T) => void): Row {
  for (const item of items.slice(0, Math.ceil(items.length / 10))) fn(item);
  const start = performance.now();
  for (const item of items) fn(item);
  return { name, records: items.length, resources, seconds: (performance.now() - start) / 1000 };
}

function rate(r: Row): number {
  return r.records / r.seconds;
}

function print(title: string, rows: Row[], floor: Row): void {
  console.log(`\n${title}`);
  console.log(
    `${'step'.padEnd(44)}${'records/s'.padStart(12)}${'resources/s'.padStart(13)}${'time vs floor'.padStart(15)}`,
  );
  for (const r of rows) {
    const perSecond = (n: number) => Math.round(n / r.seconds).toLocaleString('en');
    console.log(
      `${r.name.padEnd(44)}${perSecond(r.records).padStart(12)}${perSecond(r.resources).padStart(13)}${(rate(floor) / rate(r)).toFixed(2).padStart(14)}×`,
    );
  }
}

function suite(label: string, records: WorkAbilityRecord[]): { rows: Row[]; bundles: Bundle[] } {
  const n = records.length;
  const bundles = records.map((r) => toFhir(r, { validate: false }));
  const resources = bundles.reduce((s, b) => s + b.entry!.length, 0);
  const floor = time('floor: JSON.parse(JSON.stringify(bundle))', bundles, resources, (b) =>
    JSON.parse(JSON.stringify(b)),
  );
  const rows = [
    floor,
    time('toFhir (mapping only)', records, resources, (r) => toFhir(r, { validate: false })),
    time('toFhir + domain validation (ajv + rules)', records, resources, (r) => toFhir(r)),
    time('fromFhir (mapping only)', bundles, resources, (b) => fromFhir(b, { validate: false })),
    time('fromFhir + domain validation', bundles, resources, (b) => fromFhir(b)),
  ];
  print(
    `${label}: ${n.toLocaleString('en')} records, ${(resources / n).toFixed(1)} resources per Bundle`,
    rows,
    floor,
  );
  return { rows, bundles };
}

export default async function run(count = 10_000): Promise<void> {
  const clients = fc.sample(clientArb, { numRuns: count, seed: 4 }).map((client) => ({ client }));
  suite('Client only (Patient)', clients);
  const records = fc.sample(recordArb, { numRuns: count, seed: 4 });
  const { bundles } = suite('Full record (client + team, assessments, consents, plans, referrals)', records);

  const validator = await loadProjectValidator();
  const sample = bundles.slice(0, Math.min(500, bundles.length));
  const sampleRecords = records.slice(0, sample.length);
  const sampleResources = sample.reduce((s, b) => s + b.entry!.length, 0);
  const floor = time('floor: JSON.parse(JSON.stringify(bundle))', sample, sampleResources, (b) =>
    JSON.parse(JSON.stringify(b)),
  );
  const validateRow = time('profile validation of the Bundle', sample, sampleResources, (b) =>
    validator.validate(b),
  );
  const withValidation = time('toFhir + domain + profile validation', sampleRecords, sampleResources, (r) =>
    validator.validate(toFhir(r)),
  );
  print(
    `With validation on (first ${sample.length} full records)`,
    [floor, validateRow, withValidation],
    floor,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(Number(process.argv[2] ?? 10_000));
}
