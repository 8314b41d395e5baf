import type { Bundle, Practitioner } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { FHIR_JSON, appPerSuite, firstIssue, postFhir, practitioner } from './helpers.ts';

const s = appPerSuite({ strict: false });
const etags = (b: Bundle) => b.entry?.map((e) => e.response?.etag);
const nextOf = (b: Bundle) => {
  const url = b.link?.find((l) => l.relation === 'next')?.url;
  return url === undefined ? undefined : new URL(url).pathname + new URL(url).search;
};

async function withVersions(n: number): Promise<Practitioner> {
  let current = (await postFhir(s.app, '/fhir/Practitioner', practitioner('V1'))).body as Practitioner;
  for (let v = 2; v <= n; v++) current = await update(current, `V${v}`);
  return current;
}

async function update(current: Practitioner, family: string): Promise<Practitioner> {
  const res = await request(s.app)
    .put(`/fhir/Practitioner/${current.id}`)
    .set({ 'Content-Type': FHIR_JSON, 'If-Match': `W/"${current.meta?.versionId}"` })
    .send(JSON.stringify({ ...current, name: [{ family }] }));
  expect(res.status).toBe(200);
  return res.body as Practitioner;
}

describe('GET Type/id/_history paging', () => {
  it('a next link starts after the page it follows, however many versions are written meanwhile', async () => {
    const p = await withVersions(6);
    const first = await request(s.app).get(`/fhir/Practitioner/${p.id}/_history`).query({ _count: '2' });
    expect(etags(first.body)).toEqual(['W/"6"', 'W/"5"']);
    await update(p, 'V7');
    const second = await request(s.app).get(nextOf(first.body) as string);
    expect(second.status).toBe(200);
    expect(etags(second.body)).toEqual(['W/"4"', 'W/"3"']);
    const third = await request(s.app).get(nextOf(second.body) as string);
    expect(etags(third.body)).toEqual(['W/"2"', 'W/"1"']);
    expect(nextOf(third.body)).toBeUndefined();
  });

  it('an _offset without a cursor still pages by position; a cursor not issued here is 400', async () => {
    const p = await withVersions(3);
    const byOffset = await request(s.app)
      .get(`/fhir/Practitioner/${p.id}/_history`)
      .query({ _count: '1', _offset: '1' });
    expect(etags(byOffset.body)).toEqual(['W/"2"']);
    for (const _cursor of ['abc', '0', '-1', '1.5']) {
      const bad = await request(s.app).get(`/fhir/Practitioner/${p.id}/_history`).query({ _cursor });
      expect([_cursor, bad.status]).toEqual([_cursor, 400]);
      expect(firstIssue(bad.body)?.expression).toEqual(['_cursor']);
    }
  });
});
