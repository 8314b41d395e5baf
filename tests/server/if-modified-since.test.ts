import type { Practitioner } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { FHIR_JSON, appPerSuite, postFhir, practitioner } from './helpers.ts';

const s = appPerSuite({ strict: false });

/** Two versions of one Practitioner written within one second, neither at .000 (retried until so). */
async function twoVersionsInOneSecond(): Promise<{
  id: string;
  v1: string;
  v2: string;
  lastModified: string;
}> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const made = await postFhir(s.app, '/fhir/Practitioner', practitioner());
    const p = made.body as Practitioner;
    const updated = await request(s.app)
      .put(`/fhir/Practitioner/${p.id}`)
      .set({ 'Content-Type': FHIR_JSON, 'If-Match': 'W/"1"' })
      .send(JSON.stringify({ ...p, active: true }));
    const v1 = p.meta?.lastUpdated as string;
    const v2 = (updated.body as Practitioner).meta?.lastUpdated as string;
    const sameSecond = Math.floor(Date.parse(v1) / 1000) === Math.floor(Date.parse(v2) / 1000);
    if (sameSecond && Date.parse(v2) % 1000 !== 0 && v1 !== v2)
      return { id: p.id as string, v1, v2, lastModified: made.headers['last-modified'] as string };
  }
  throw new Error('no two versions within one second');
}

describe('If-Modified-Since: an HTTP-date to the second, a batch instant to the millisecond', () => {
  it('the header is a weak validator: a version in the same second looks alike (304), If-None-Match tells them apart', async () => {
    const { id, v2, lastModified } = await twoVersionsInOneSecond();
    const alike = await request(s.app).get(`/fhir/Practitioner/${id}`).set('If-Modified-Since', lastModified);
    expect(alike.status).toBe(304);
    const exact = await request(s.app)
      .get(`/fhir/Practitioner/${id}`)
      .set({ 'If-Modified-Since': lastModified, 'If-None-Match': 'W/"1"' });
    expect(exact.status).toBe(200);
    expect(exact.body.meta.versionId).toBe('2');
    const earlier = new Date(Date.parse(lastModified) - 1000).toUTCString();
    expect(
      (await request(s.app).get(`/fhir/Practitioner/${id}`).set('If-Modified-Since', earlier)).status,
    ).toBe(200);
    const later = new Date(Date.parse(v2) + 1000).toUTCString();
    expect(
      (await request(s.app).get(`/fhir/Practitioner/${id}`).set('If-Modified-Since', later)).status,
    ).toBe(304);
  });

  it('a batch GET entry reads its ifModifiedSince instant to the millisecond, by the same comparison', async () => {
    const { id, v1, v2 } = await twoVersionsInOneSecond();
    const batch = await postFhir(s.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [v1, v2].map((ifModifiedSince) => ({
        request: { method: 'GET', url: `Practitioner/${id}`, ifModifiedSince },
      })),
    });
    expect(batch.status).toBe(200);
    expect(batch.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '200 OK',
      '304 Not Modified',
    ]);
  });
});
