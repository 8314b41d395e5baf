// Kanta PHR mode's own write rules and routes: a PHR Patient carries no HETU anywhere, a response is
// written by its subject, an update needs If-Match where Kanta's statement declares versioned updates,
// a conditional create has one identifier (no OR), and a method a known path does not take is a 405
// naming the method only. Every refusal names the element and the rule, never the value.
import type { QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import {
  batch,
  bodyWeight,
  call,
  citizenResponse,
  firstIssue,
  phrPatient,
  startSandboxHere,
  urn,
} from '../kanta/helpers.ts';

const HETU = '120395-902S';

let remoteStore: Store;
let sandbox: RunningServer;
let base: string;

beforeAll(async () => {
  ({ remoteStore, sandbox } = await startSandboxHere());
  base = `${sandbox.url}/fhir`;
});

afterAll(async () => {
  await sandbox?.close();
  await remoteStore?.close();
});

/** The issues of a refusal, checked to quote no HETU. */
function issuesOf(r: { body: unknown }) {
  expect(JSON.stringify(r.body)).not.toContain(HETU.slice(0, 6));
  return (r.body as { issue: { expression?: string[]; diagnostics?: string }[] }).issue;
}

describe('Kanta PHR mode: a PHR Patient holds no HETU in any element', () => {
  const cases: [string, (p: Record<string, unknown>) => void, string][] = [
    [
      'an extension',
      (p) => {
        p.extension = [
          { url: 'http://example.org/fhir/StructureDefinition/note', valueString: `Suvi ${HETU}` },
        ];
      },
      'Patient.extension[0].valueString',
    ],
    [
      "an identifier's extension",
      (p) => {
        const [id] = p.identifier as Record<string, unknown>[];
        (id as Record<string, unknown>).extension = [
          { url: 'http://example.org/fhir/StructureDefinition/hetu', valueString: HETU },
        ];
      },
      'Patient.identifier[0].extension[0].valueString',
    ],
    [
      "a communication language's text",
      (p) => {
        p.communication = [{ language: { text: `suomi ${HETU}` } }];
      },
      'Patient.communication[0].language.text',
    ],
    [
      'the narrative',
      (p) => {
        p.text = {
          status: 'generated',
          div: `<div xmlns="http://www.w3.org/1999/xhtml" lang="fi">Suvi Testaaja ${HETU}</div>`,
        };
      },
      'Patient.text.div',
    ],
  ];

  for (const [what, change, element] of cases) {
    it(`a HETU in ${what} is 422 kanta-pseudonym naming ${element}`, async () => {
      const p = phrPatient() as unknown as Record<string, unknown>;
      change(p);
      const r = await call(base, 'POST', '/Patient', p);
      expect(r.status).toBe(422);
      expect(issuesOf(r)).toContainEqual(
        expect.objectContaining({
          expression: [element],
          diagnostics: expect.stringMatching(/^kanta-pseudonym: /),
        }),
      );
    });
  }

  it('an update and a batch entry are refused the same; a HETU-free PHR Patient is taken', async () => {
    const created = await call(base, 'POST', '/Patient', phrPatient());
    expect(created.status).toBe(201);
    const { id } = created.body;
    const withHetu = {
      ...created.body,
      extension: [{ url: 'http://example.org/fhir/StructureDefinition/note', valueString: HETU }],
    };
    const put = await call(base, 'PUT', `/Patient/${id}`, withHetu, { 'If-Match': 'W/"1"' });
    expect(put.status).toBe(422);
    expect(issuesOf(put)[0]?.expression).toEqual(['Patient.extension[0].valueString']);
    const fresh = { ...phrPatient(), extension: withHetu.extension };
    const b = await call(
      base,
      'POST',
      '',
      batch([{ resource: fresh, request: { method: 'POST', url: 'Patient' } }]),
    );
    expect(b.status).toBe(200);
    expect(b.body.entry[0].response.status).toMatch(/^422/);
    expect(JSON.stringify(b.body)).not.toContain(HETU.slice(0, 6));
    expect(b.body.entry[0].response.outcome.issue[0].expression).toEqual([
      'Bundle.entry[0].resource.extension[0].valueString',
    ]);
  });
});

describe('Kanta PHR mode: a response is written by its subject', () => {
  async function newPhr(): Promise<string> {
    const r = await call(base, 'POST', '/Patient', phrPatient());
    expect(r.status).toBe(201);
    return r.body.id;
  }

  it('an author or source other than the subject is 422 kanta-author naming it; the subject itself is taken', async () => {
    const [a, b] = [await newPhr(), await newPhr()];
    const other = { reference: `Patient/${b}` };
    for (const [element, change] of [
      ['QuestionnaireResponse.author', { author: other }],
      ['QuestionnaireResponse.source', { source: other }],
    ] as const) {
      const r = await call(base, 'POST', '/QuestionnaireResponse', {
        ...citizenResponse(a, urn()),
        ...change,
      });
      expect(r.status, element).toBe(422);
      expect(firstIssue(r)).toMatchObject({
        expression: [element],
        diagnostics: expect.stringMatching(/^kanta-author: /),
      });
    }
    expect((await call(base, 'POST', '/QuestionnaireResponse', citizenResponse(a, urn()))).status).toBe(201);
  });
});

describe("Kanta PHR mode: versioned updates where Kanta's statement declares them", () => {
  it('a QuestionnaireResponse (no versioning declared) updates without If-Match; a stale one is still 412', async () => {
    const phr = (await call(base, 'POST', '/Patient', phrPatient())).body.id;
    const created = await call(base, 'POST', '/QuestionnaireResponse', citizenResponse(phr, urn()));
    expect(created.status).toBe(201);
    const body = { ...created.body, status: 'amended' } as QuestionnaireResponse;
    const blind = await call(base, 'PUT', `/QuestionnaireResponse/${created.body.id}`, body);
    expect(blind.status).toBe(200);
    expect(blind.body.meta.versionId).toBe('2');
    const stale = await call(base, 'PUT', `/QuestionnaireResponse/${created.body.id}`, body, {
      'If-Match': 'W/"1"',
    });
    expect(stale.status).toBe(412);
    const gone = await call(base, 'PUT', '/QuestionnaireResponse/nope', { ...body, id: 'nope' });
    expect(gone.status).toBe(404);
  });

  it('an Observation (versioned-update declared) still needs If-Match: 428', async () => {
    const phr = (await call(base, 'POST', '/Patient', phrPatient())).body.id;
    const obs = { ...bodyWeight(urn()), subject: { reference: `Patient/${phr}` } } as Resource;
    const created = await call(base, 'POST', '/Observation', obs);
    expect(created.status).toBe(201);
    const r = await call(base, 'PUT', `/Observation/${created.body.id}`, created.body);
    expect(r.status).toBe(428);
    expect(firstIssue(r)?.diagnostics).toMatch(/^kanta-version: /);
  });
});

describe('Kanta PHR mode: a conditional create has one identifier', () => {
  it('an unescaped comma (OR) in If-None-Exist is 400 kanta-conditional, directly and in a batch, quoting nothing', async () => {
    const victim = urn();
    const attacker = {
      ...phrPatient(),
      identifier: [
        { system: 'http://x', value: `1,urn:ietf:rfc:3986|${victim}` },
        { system: 'urn:ietf:rfc:3986', value: urn() },
      ],
    };
    const criteria = `identifier=http://x|1,urn:ietf:rfc:3986|${victim}`;
    const r = await call(base, 'POST', '/Patient', attacker, { 'If-None-Exist': criteria });
    expect(r.status).toBe(400);
    expect(firstIssue(r)).toMatchObject({
      diagnostics: 'kanta-conditional: conditional create allows only one identifier=… as condition',
      expression: ['If-None-Exist'],
    });
    expect(JSON.stringify(r.body)).not.toContain(victim);
    const b = await call(
      base,
      'POST',
      '',
      batch([{ resource: attacker, request: { method: 'POST', url: 'Patient', ifNoneExist: criteria } }]),
    );
    expect(b.body.entry[0].response.status).toMatch(/^400/);
    // Percent-encoded, it is the same OR to the store (which decodes the criteria).
    const encoded = await call(base, 'POST', '/Patient', attacker, {
      'If-None-Exist': `identifier=http://x|1%2Curn:ietf:rfc:3986|${victim}`,
    });
    expect(encoded.status).toBe(400);
    expect(firstIssue(encoded)?.diagnostics).toMatch(/^kanta-conditional: /);
    expect(b.body.entry[0].response.outcome.issue[0].expression).toEqual([
      'Bundle.entry[0].request.ifNoneExist',
    ]);
  });
});

describe('Kanta PHR mode: methods and paths', () => {
  it('a method a known path does not take is 405 naming the method only, with Allow', async () => {
    const path = `/Patient/${HETU}`;
    const r = await call(base, 'PATCH', path, {});
    expect(r.status).toBe(405);
    expect(firstIssue(r)?.diagnostics).toMatch(/^kanta-interaction: .*PATCH/);
    expect(JSON.stringify(r.body)).not.toContain(HETU.slice(0, 6));
    // Per type, from the statement's interactions: Kanta PHR has no delete of a Patient.
    expect(r.headers.get('allow')).toBe('GET, HEAD, PUT');
    const obs = await call(base, 'PATCH', '/Observation/x', {});
    expect(obs.status).toBe(405);
    expect(obs.headers.get('allow')).toBe('GET, HEAD, PUT, DELETE');
    const type = await call(base, 'PATCH', '/Observation');
    expect(type.status).toBe(405);
    expect(type.headers.get('allow')).toBe('GET, HEAD, POST');
    const metadata = await call(base, 'POST', '/metadata', {});
    expect(metadata.status).toBe(405);
    expect(metadata.headers.get('allow')).toBe('GET, HEAD');
  });

  it('every 405 carries Allow: an interaction the type does not have, a conditional update or delete, the base', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', `/Patient/${HETU}`, 'GET, HEAD, PUT'],
      ['PUT', '/Patient', 'GET, HEAD, POST'],
      ['DELETE', '/Observation?identifier=x', 'GET, HEAD, POST'],
      ['PUT', '/', 'POST'],
      ['DELETE', '', 'POST'],
    ];
    for (const [method, path, allowed] of cases) {
      const r = await call(base, method, path, method === 'PUT' ? {} : undefined);
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(firstIssue(r)?.diagnostics, `${method} ${path}`).toMatch(/^kanta-interaction: /);
      expect(r.headers.get('allow'), `${method} ${path}`).toBe(allowed);
      expect(JSON.stringify(r.body)).not.toContain(HETU.slice(0, 6));
    }
  });

  it('a type Kanta PHR does not hold is 404 kanta-type whatever the method; a type that is no type name is not quoted', async () => {
    for (const [method, path] of [
      ['PATCH', '/Foo/x'],
      ['PUT', '/Foo'],
      ['DELETE', '/Foo'],
      ['POST', '/Foo/x/_history/1'],
    ]) {
      const r = await call(base, method as string, path as string, method === 'DELETE' ? undefined : {});
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(firstIssue(r)?.diagnostics, `${method} ${path}`).toMatch(
        /^kanta-type: Kanta PHR does not hold Foo /,
      );
    }
    const hetu = await call(base, 'PATCH', `/${HETU}/x`, {});
    expect(hetu.status).toBe(404);
    expect(firstIssue(hetu)?.diagnostics).toMatch(/^kanta-type: /);
    expect(JSON.stringify(hetu.body)).not.toContain(HETU.slice(0, 6));
  });

  it('an unknown path is 404 naming the method only, never the path', async () => {
    const r = await call(base, 'GET', `/Patient/${HETU}/_history`);
    expect(r.status).toBe(404);
    expect(firstIssue(r)?.diagnostics).toMatch(/^kanta-interaction: .*GET/);
    expect(JSON.stringify(r.body)).not.toMatch(/_history|\[HETU\]|120395/);
  });
});
