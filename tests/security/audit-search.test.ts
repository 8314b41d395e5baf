// The AuditEvent search reads its parameters by the rules of every other search: comma-separated
// alternatives (OR), a reference under this server's own base, every date prefix, the format
// parameters, one _count parser, and unknown parameters refused unless Prefer: handling=lenient.
import type { AuditEvent, Bundle, CapabilityStatement, OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAudit } from '../../src/server/security/audit.ts';
import { type Store, insertAudit, migrateAuditLog, openStore } from '../../src/store/index.ts';
import { type Secured, acceptingValidator, startSecured } from './helpers.ts';

const BASE = 'http://x/fhir';
let store: Store;
/** When the rows were written (each record carries the facade's clock). */
let before: string;
let after: string;

const read = (client: string, patient: string, type: string) => ({
  client,
  interaction: 'read',
  action: 'R' as const,
  outcome: '0' as const,
  entities: [`${type}/${patient}-${type}`],
  patients: [`Patient/${patient}`],
});

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  await migrateAuditLog(store);
  before = new Date(Date.now() - 1000).toISOString();
  await insertAudit(store, [read('app-a', 'A', 'Observation')]);
  await insertAudit(store, [read('app-b', 'B', 'Condition')]);
  await insertAudit(store, [read('app-c', 'C', 'Observation')]);
  after = new Date(Date.now() + 1000).toISOString();
});

afterAll(async () => {
  await store?.close();
});

type Query = Record<string, string | string[]>;
const search = (query: Query, opts?: { lenient?: boolean }) =>
  searchAudit(store, BASE, query, opts) as Promise<Bundle<AuditEvent>>;
/** The patients of the matches, newest first. */
const patients = async (query: Query) =>
  ((await search(query)).entry ?? [])
    .filter((e) => e.search?.mode === 'match')
    .map((e) => e.resource?.entity?.find((x) => x.role?.code === '1')?.what?.reference);
const refusal = async (query: Query) => {
  try {
    await search(query);
  } catch (err) {
    const e = err as { status: number; outcome: OperationOutcome };
    return { status: e.status, ...e.outcome.issue?.[0] };
  }
  throw new Error(`no refusal for ${JSON.stringify(query)}`);
};

describe('AuditEvent search parameters', () => {
  it('a comma separates alternatives (OR); repeating a parameter asks for both (AND)', async () => {
    expect(await patients({ patient: 'Patient/A,Patient/B' })).toEqual(['Patient/B', 'Patient/A']);
    expect(await patients({ patient: 'A,C' })).toEqual(['Patient/C', 'Patient/A']);
    expect(await patients({ agent: 'app-a,app-c' })).toEqual(['Patient/C', 'Patient/A']);
    expect(await patients({ 'entity-type': 'Condition,Observation' })).toEqual([
      'Patient/C',
      'Patient/B',
      'Patient/A',
    ]);
    expect(await patients({ patient: ['A,B', 'B,C'] })).toEqual(['Patient/B']);
    expect(await refusal({ patient: 'A,' })).toMatchObject({ status: 400, expression: ['patient'] });
  });

  it('reads agent and entity-type as tokens: system|code with the documented system, |code matching nothing', async () => {
    expect(await patients({ agent: 'urn:tyokyky:client|app-a' })).toEqual(['Patient/A']);
    expect(await patients({ agent: 'urn:tyokyky:client|app-a,app-c' })).toEqual(['Patient/C', 'Patient/A']);
    expect(await patients({ agent: 'urn:tyokyky:client|' })).toHaveLength(3);
    expect(await patients({ 'entity-type': 'http://hl7.org/fhir/resource-types|Observation' })).toEqual([
      'Patient/C',
      'Patient/A',
    ]);
    expect(await patients({ 'entity-type': 'http://hl7.org/fhir/resource-types|' })).toHaveLength(3);
    // |code: a value without a system, which no client id or resource type here is.
    expect(await patients({ agent: '|app-a' })).toEqual([]);
    expect(await patients({ 'entity-type': '|Observation' })).toEqual([]);
    expect(await patients({ agent: '|app-a,app-c' })).toEqual(['Patient/C']);
    const agent = await refusal({ agent: 'urn:other|app-a' });
    expect(agent).toMatchObject({ status: 400, code: 'invalid', expression: ['agent'] });
    expect(agent.diagnostics).toContain('urn:tyokyky:client');
    expect(agent.diagnostics).not.toContain('app-a');
    const type = await refusal({ 'entity-type': 'http://snomed.info/sct|Observation' });
    expect(type).toMatchObject({ status: 400, code: 'invalid', expression: ['entity-type'] });
    expect(type.diagnostics).toContain('http://hl7.org/fhir/resource-types');
  });

  it('a patient reference under this server base names the relative one', async () => {
    expect(await patients({ patient: `${BASE}/Patient/A` })).toEqual(['Patient/A']);
    expect(await patients({ patient: `${BASE}/Patient/A,Patient/C` })).toEqual(['Patient/C', 'Patient/A']);
    expect(await patients({ patient: 'http://elsewhere/fhir/Patient/A' })).toEqual([]);
  });

  it('takes every date prefix; a bad prefix or date is a 400 naming date', async () => {
    expect(await patients({ date: `ge${before}` })).toHaveLength(3);
    expect(await patients({ date: `sa${before}` })).toHaveLength(3);
    expect(await patients({ date: `eb${after}` })).toHaveLength(3);
    expect(await patients({ date: `ne${after}` })).toHaveLength(3);
    expect(await patients({ date: `sa${after}` })).toHaveLength(0);
    expect(await patients({ date: `eb${before}` })).toHaveLength(0);
    expect(await patients({ date: `ap${new Date().toISOString().slice(0, 10)}` })).toHaveLength(3);
    expect(await patients({ date: [`ge${before}`, `le${after}`] })).toHaveLength(3);
    expect(await patients({ date: `lt${before},gt${after}` })).toHaveLength(0);
    const prefix = await refusal({ date: `xx${before}` });
    expect(prefix).toMatchObject({ status: 400, expression: ['date'] });
    expect(prefix.diagnostics).toContain('prefix');
    const date = await refusal({ date: 'ge2026-13-01' });
    expect(date).toMatchObject({ status: 400, expression: ['date'] });
    expect(date.diagnostics).not.toContain('2026-13');
  });

  it('takes _format and _pretty as every interaction does', async () => {
    expect(await patients({ _format: 'json', _pretty: 'true', patient: 'A' })).toEqual(['Patient/A']);
  });

  it('refuses an unknown parameter, or ignores it and says so under handling=lenient', async () => {
    expect(await refusal({ colour: 'blue' })).toMatchObject({
      status: 400,
      code: 'not-supported',
      expression: ['colour'],
    });
    expect(await refusal({ 'patient:missing': 'true' })).toMatchObject({
      status: 400,
      expression: ['patient:missing'],
    });
    const lenient = await search({ colour: 'blue', patient: 'A' }, { lenient: true });
    const matches = lenient.entry?.filter((e) => e.search?.mode === 'match') ?? [];
    expect(matches).toHaveLength(1);
    const outcome = lenient.entry?.find((e) => e.search?.mode === 'outcome')?.resource as unknown as
      | OperationOutcome
      | undefined;
    expect(outcome?.issue?.[0]).toMatchObject({ severity: 'warning', expression: ['colour'] });
    const self = lenient.link?.find((l) => l.relation === 'self')?.url ?? '';
    expect([...new URL(self).searchParams.keys()]).toEqual(['patient']);
  });

  it('_count: any whole number, capped at 1000, the last of several; the links say the count used', async () => {
    for (const _count of ['5000', '1000000000']) {
      const bundle = await search({ _count });
      expect(bundle.entry).toHaveLength(3);
      expect(bundle.link?.find((l) => l.relation === 'self')?.url).toBe(`${BASE}/AuditEvent?_count=1000`);
    }
    const two = await search({ _count: ['5', '2'] });
    expect(two.entry).toHaveLength(2);
    const next = two.link?.find((l) => l.relation === 'next')?.url ?? '';
    expect(new URL(next).searchParams.getAll('_count')).toEqual(['2']);
    expect(await refusal({ _count: '-1' })).toMatchObject({ status: 400, expression: ['_count'] });
  });
});

describe('AuditEvent search over HTTP', () => {
  let s: Secured;
  let auditor: string;
  const validator = acceptingValidator;

  beforeAll(async () => {
    s = await startSecured(store, validator);
    auditor = (await s.client({ id: 'audit-search-auditor', scope: 'system/AuditEvent.rs' })).token;
  }, 120_000);
  afterAll(async () => {
    await s?.running.close();
  });

  it('honours Prefer: handling=lenient and says so', async () => {
    const strict = await s.call(auditor, '/AuditEvent?colour=blue');
    expect(strict.status).toBe(400);
    const lenient = await s.call(auditor, '/AuditEvent?colour=blue&patient=A', {
      headers: { prefer: 'handling=lenient' },
    });
    expect(lenient.status).toBe(200);
    expect(lenient.headers.get('preference-applied')).toBe('handling=lenient');
  });

  it('answers _pretty=true indented, and _format=xml with 406 as every interaction does', async () => {
    const pretty = await s.call(auditor, '/AuditEvent?_pretty=true&_format=json&_count=1');
    expect(pretty.status).toBe(200);
    expect((await pretty.text()).startsWith('{\n  "resourceType": "Bundle"')).toBe(true);
    expect((await s.call(auditor, '/AuditEvent?_format=xml')).status).toBe(406);
  });

  it("records each patient it searched for, so each is in that patient's use log", async () => {
    const res = await s.call(auditor, `/AuditEvent?patient=Patient/A,${s.fhir}/Patient/B`);
    expect(res.status).toBe(200);
    const own = (await (
      await s.call(auditor, '/AuditEvent?agent=audit-search-auditor&entity-type=AuditEvent&_count=100')
    ).json()) as Bundle<AuditEvent>;
    const searched = own.entry
      ?.map((e) => e.resource as AuditEvent)
      .find((e) => e.entity?.some((x) => x.what?.reference === 'Patient/A'));
    expect(searched?.entity?.filter((x) => x.role?.code === '1').map((x) => x.what?.reference)).toEqual([
      'Patient/A',
      'Patient/B',
    ]);
  });

  it('the CapabilityStatement says what each AuditEvent parameter means here, and how it differs from R4', async () => {
    const cs = (await (await s.call(auditor, '/metadata')).json()) as CapabilityStatement;
    const audit = cs.rest?.[0]?.resource?.find((r) => r.type === 'AuditEvent');
    const doc = (name: string) => audit?.searchParam?.find((p) => p.name === name)?.documentation ?? '';
    expect(doc('patient')).toMatch(/R4/);
    expect(doc('agent')).toMatch(/client id/);
    expect(doc('agent')).toMatch(/R4.*agent\.who/);
    expect(doc('entity-type')).toMatch(/resource type/i);
    expect(doc('entity-type')).toMatch(/R4.*entity\.type/);
    expect(doc('date')).toMatch(/recorded/);
  });
});
