import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
} from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { appPerSuite } from './helpers.ts';

const s = appPerSuite({ strict: false });

async function resources(): Promise<CapabilityStatementRestResource[]> {
  const res = await request(s.app).get('/fhir/metadata');
  expect(res.status).toBe(200);
  return (res.body as CapabilityStatement).rest?.[0]?.resource ?? [];
}

const param = (r: CapabilityStatementRestResource | undefined, name: string) =>
  r?.searchParam?.find((p) => p.name === name) as CapabilityStatementRestResourceSearchParam | undefined;

describe('the CapabilityStatement declares _has, :missing and :not as search serves them', () => {
  it('declares _has (special) on each type a reference parameter can point at, and each pair it names works', async () => {
    const all = await resources();
    const patient = all.find((r) => r.type === 'Patient');
    const has = param(patient, '_has');
    expect(has).toMatchObject({ type: 'special' });
    expect(has?.documentation).toContain('Observation:patient');
    // Every declared source:param pair answers a search (a pair search does not take is a 400).
    for (const r of all.filter((x) => param(x, '_has'))) {
      const listed = (param(r, '_has')?.documentation ?? '').split(' is one of ')[1] ?? '';
      const pairs = [...listed.matchAll(/\b([A-Z][A-Za-z]+):([a-z][a-z-]*)\b/g)];
      expect(pairs.length, r.type).toBeGreaterThan(0);
      for (const [, source, ref] of pairs) {
        const inner = all
          .find((x) => x.type === source)
          ?.searchParam?.find((p) => p.type === 'token' && !p.name.startsWith('_'));
        const key = `_has:${source}:${ref}:${inner?.name}`;
        const res = await request(s.app)
          .get(`/fhir/${r.type}`)
          .query({ [key]: 'true' });
        expect([key, res.status, res.body.issue?.[0]?.diagnostics]).toEqual([key, 200, undefined]);
      }
    }
  });

  it('documents :missing on every parameter and :not on token parameters, which search takes', async () => {
    const all = await resources();
    const patient = all.find((r) => r.type === 'Patient');
    for (const r of all) {
      for (const p of r.searchParam ?? []) {
        if (p.type === 'special' || (p.name.startsWith('_') && !['_id', '_lastUpdated'].includes(p.name)))
          continue;
        expect([r.type, p.name, p.documentation?.includes(':missing')]).toEqual([r.type, p.name, true]);
        if (p.type === 'token')
          expect([r.type, p.name, p.documentation?.includes(':not')]).toEqual([r.type, p.name, true]);
      }
    }
    expect(param(patient, 'identifier')?.documentation).toContain(':not');
    for (const query of [
      { 'identifier:missing': 'true' },
      { 'identifier:not': 'a|b' },
      { 'birthdate:missing': 'false' },
    ]) {
      expect((await request(s.app).get('/fhir/Patient').query(query)).status).toBe(200);
    }
  });
});
