import { connect } from 'node:net';
// A vendor's view: a real listening facade driven by fhir-kit-client, a FHIR client we did not write.
import type {
  Bundle,
  CapabilityStatement,
  Observation,
  OperationOutcome,
  Organization,
} from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { type Fixture, openFixture, silent } from './helpers.ts';
import { example, persona } from './personas.ts';

let fx: Fixture;
let server: RunningServer;
let client: Client;

beforeAll(async () => {
  fx = await openFixture();
  server = await startServer({ store: fx.store, validator: fx.validator, logger: silent, port: 0 });
  client = new Client({ baseUrl: `${server.url}/fhir` });
});
afterAll(async () => {
  await server?.close();
  await fx?.close();
});

async function httpStatus(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { response?: { status: number } }).response?.status ?? -1;
  }
}

describe('vendor workflow through fhir-kit-client (strict mode)', () => {
  let patientId: string;
  let score: Observation;

  it('reads the CapabilityStatement', async () => {
    const cs = (await client.capabilityStatement()) as unknown as CapabilityStatement;
    expect(cs.rest?.[0].interaction?.map((i) => i.code)).toContain('transaction');
  });

  it('creates the Maija story (the SDK persona Bundle) as one transaction', async () => {
    const story = persona('maija');
    const response = (await client.transaction({ body: story as never })) as unknown as Bundle;
    expect(response.type).toBe('transaction-response');
    expect(response.entry?.map((e) => e.response?.status)).toEqual(story.entry?.map(() => '201 Created'));
    const patient = response.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource;
    patientId = patient?.id as string;
    const scores = response.entry?.filter((e) =>
      e.resource?.meta?.profile?.[0]?.endsWith('tyokyky-work-ability-score'),
    );
    score = scores?.[0].resource as Observation;
    expect(score.subject?.reference).toBe(`Patient/${patientId}`);
    const again = (await client.transaction({ body: story as never })) as unknown as Bundle;
    expect(again.entry?.map((e) => e.response?.status)).toEqual(story.entry?.map(() => '200 OK'));
  });

  it('searches the story back by patient and code', async () => {
    const all = (await client.search({
      resourceType: 'Observation',
      searchParams: { patient: patientId },
    })) as unknown as Bundle;
    expect(all.entry).toHaveLength(3);
    const scores = (await client.search({
      resourceType: 'Observation',
      searchParams: {
        patient: patientId,
        code: 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-observation|work-ability-score',
      },
    })) as unknown as Bundle;
    expect(scores.entry).toHaveLength(2);
    expect(scores.entry?.map((e) => e.resource?.id)).toContain(score.id);
  });

  it('updates with If-Match, and a second writer with the old version gets 412', async () => {
    const changed = {
      ...score,
      valueInteger: 7,
      interpretation: [
        {
          coding: [
            {
              system: 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-interpretation',
              code: 'needs-further-assessment',
            },
          ],
        },
      ],
    };
    const updated = (await client.update({
      resourceType: 'Observation',
      id: score.id as string,
      body: changed as never,
      options: { headers: { 'If-Match': `W/"${score.meta?.versionId}"` } },
    })) as unknown as Observation;
    expect(updated.meta?.versionId).toBe('2');
    const conflict = client.update({
      resourceType: 'Observation',
      id: score.id as string,
      body: { ...changed, valueInteger: 5 } as never,
      options: { headers: { 'If-Match': 'W/"1"' } },
    });
    expect(await httpStatus(conflict)).toBe(412);
    const missing = client.update({
      resourceType: 'Observation',
      id: score.id as string,
      body: changed as never,
    });
    expect(await httpStatus(missing)).toBe(428);
  });

  it('conditional create twice yields one resource', async () => {
    const { id: _id, ...org } = example<Organization>('Organization-kela.json');
    const criteria = `identifier=${org.identifier?.[0].system}|${org.identifier?.[0].value}`;
    const first = (await client.create({
      resourceType: 'Organization',
      body: org as never,
      options: { headers: { 'If-None-Exist': criteria } },
    })) as unknown as Organization;
    const second = (await client.create({
      resourceType: 'Organization',
      body: org as never,
      options: { headers: { 'If-None-Exist': criteria } },
    })) as unknown as Organization;
    expect(second.id).toBe(first.id);
    const found = (await client.search({
      resourceType: 'Organization',
      searchParams: { identifier: `${org.identifier?.[0].system}|${org.identifier?.[0].value}` },
    })) as unknown as Bundle;
    expect(found.entry).toHaveLength(1);
  });

  it('$validate reports a profile invariant (tyk-was-1) without storing anything', async () => {
    const bad = { ...score, id: undefined, meta: { profile: score.meta?.profile }, valueInteger: 11 };
    const oo = (await client.operation({
      resourceType: 'Observation',
      name: '$validate',
      method: 'POST',
      input: bad as never,
    })) as unknown as OperationOutcome;
    const errors = oo.issue?.filter((i) => i.severity === 'error') ?? [];
    expect(errors.some((i) => i.diagnostics?.includes('tyk-was-1'))).toBe(true);
    const rejected = client.create({ resourceType: 'Observation', body: bad as never });
    expect(await httpStatus(rejected)).toBe(422);
  });
});

describe("what Node's HTTP parser refuses", () => {
  /** Sends `raw` on a socket and returns the whole answer. */
  const rawRequest = async (raw: string): Promise<string> => {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(raw);
    await new Promise((resolve) => socket.once('close', resolve));
    return answer;
  };

  it('a URL over the header limit is 431 with an OperationOutcome, not an empty answer', async () => {
    const res = await fetch(`${server.url}/fhir/Observation?identifier=${'x'.repeat(20_000)}`);
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    const oo = (await res.json()) as OperationOutcome;
    expect(oo.issue?.[0]).toMatchObject({ severity: 'error', code: 'too-long' });
    expect(oo.issue?.[0]?.diagnostics).toContain('POST [type]/_search');
  });

  it('a request that is not HTTP is 400 with an OperationOutcome', async () => {
    const answer = await rawRequest('NOT HTTP AT ALL\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as OperationOutcome;
    expect(body.issue?.[0]).toMatchObject({
      code: 'structure',
      diagnostics: 'The request is not valid HTTP/1.1',
    });
  });
});
