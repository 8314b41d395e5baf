// What a review of the sandbox against Kanta PHR's definitions found: an abstract profile taken as the
// declared one, `_total` taking any value, references written as absolute URLs under the sandbox's own
// base not read as the relative ones they name, and type-level paths Kanta PHR does not have read as ids.
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { silent } from '../server/helpers.ts';
import { bodyWeight, call, citizenResponse, firstIssue, kantaExample, phrPatient, urn } from './helpers.ts';

const SD = 'http://phr.kanta.fi/StructureDefinition/';
const KYKYVIISARI = 'https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari';

let server: RunningServer;
let base: string;
let store: Store;
let close: () => Promise<void>;
let pid: string;
/** Another PHR Patient, for the writes of the profile tests (the searches count pid's resources). */
let other: string;

beforeAll(async () => {
  const validator = await loadProjectValidator();
  store = await openStore({ dataDir: 'memory://' });
  server = await startServer({
    store: store as never,
    validator: validator as never,
    logger: silent,
    mode: 'kanta-phr',
  });
  base = `${server.url}/fhir`;
  close = async () => {
    await server.close();
    await store.close();
  };
  pid = (await call(base, 'POST', '/Patient', phrPatient())).body.id;
  other = (await call(base, 'POST', '/Patient', phrPatient())).body.id;
  for (let i = 0; i < 3; i++) {
    const r = await call(base, 'POST', '/Observation', {
      ...bodyWeight(urn()),
      subject: { reference: `Patient/${pid}` },
    });
    expect(r.status).toBe(201);
  }
  const qr = await call(base, 'POST', '/QuestionnaireResponse', citizenResponse(pid, urn()));
  expect(qr.status).toBe(201);
});
afterAll(async () => close?.());

/** Kanta's minimal physical-activity Observation (fiphr-sd-moderatetovigorouspatime), declaring `profile`. */
function activity(profile: string): Resource {
  const { id: _id, ...obs } = kantaExample<Resource & Record<string, unknown>>('Observation-mtvpa-min.json');
  return {
    ...obs,
    meta: { profile: [profile] },
    identifier: [{ system: 'urn:ietf:rfc:3986', value: urn() }],
    subject: { reference: `Patient/${other}` },
    performer: [{ reference: `Patient/${other}` }],
  } as Resource;
}

describe('an abstract Kanta PHR profile is no declared profile', () => {
  it('the concrete profile is taken', async () => {
    expect(
      (await call(base, 'POST', '/Observation', activity(`${SD}fiphr-sd-moderatetovigorouspatime`))).status,
    ).toBe(201);
  });

  for (const abstract of ['fiphr-sd-fitness', 'fiphr-sd-nutrition']) {
    it(`${abstract} (abstract) is 422 kanta-profile, and the profiles it lists are no abstract ones`, async () => {
      const r = await call(base, 'POST', '/Observation', activity(`${SD}${abstract}`));
      expect(r.status).toBe(422);
      const i = firstIssue(r);
      expect(i?.expression).toEqual(['Observation.meta.profile']);
      expect(i?.diagnostics).toMatch(
        /^kanta-profile: meta\.profile must name a Kanta PHR profile for Observation/,
      );
      expect(i?.diagnostics).toContain(`${SD}fiphr-sd-moderatetovigorouspatime`);
      expect(i?.diagnostics).not.toContain(`${SD}fiphr-sd-fitness`);
      expect(i?.diagnostics).not.toContain(`${SD}fiphr-sd-nutrition`);
    });
  }
});

describe('_total takes none, estimate or accurate', () => {
  const observations = (extra: string) => call(base, 'GET', `/Observation?patient=Patient/${pid}${extra}`);
  // QuestionnaireResponse by questionnaire: a declared parameter the sandbox answers by filtering.
  const filtered = (extra: string) =>
    call(base, 'GET', `/QuestionnaireResponse?patient=Patient/${pid}&questionnaire=${KYKYVIISARI}${extra}`);

  for (const [label, search] of [
    ['an indexed search', observations],
    ['a filtered search', filtered],
  ] as const) {
    it(`${label}: another value is 400 naming _total`, async () => {
      const r = await search('&_total=bogus');
      expect(r.status).toBe(400);
      expect(firstIssue(r)?.expression).toEqual(['_total']);
      expect(firstIssue(r)?.diagnostics).toMatch(/_total/);
    });

    it(`${label}: none counts nothing; estimate and accurate count`, async () => {
      const expected = label === 'an indexed search' ? 3 : 1;
      const none = await search('&_total=none');
      expect(none.status).toBe(200);
      expect(none.body.entry).toHaveLength(expected);
      expect(none.body.total).toBeUndefined();
      for (const value of ['estimate', 'accurate']) {
        const r = await search(`&_total=${value}&_count=1`);
        expect(r.status, value).toBe(200);
        expect(r.body.total, value).toBe(expected);
      }
    });
  }
});

describe("a reference written as an absolute URL under the sandbox's own base names what the relative one names", () => {
  it('a search by patient=<base>/Patient/<id> finds what patient=Patient/<id> finds', async () => {
    const relative = await call(base, 'GET', `/Observation?patient=Patient/${pid}`);
    expect(relative.body.entry).toHaveLength(3);
    const absolute = await call(base, 'GET', `/Observation?patient=${base}/Patient/${pid}`);
    expect(absolute.status).toBe(200);
    expect(absolute.body.entry).toHaveLength(3);
    const filtered = await call(
      base,
      'GET',
      `/QuestionnaireResponse?patient=${base}/Patient/${pid}&questionnaire=${KYKYVIISARI}`,
    );
    expect(filtered.body.entry).toHaveLength(1);
    // Under another base it names another server's Patient.
    const elsewhere = await call(
      base,
      'GET',
      `/Observation?patient=http://elsewhere.example/fhir/Patient/${pid}`,
    );
    expect(elsewhere.body.entry ?? []).toHaveLength(0);
  });

  it("a QuestionnaireResponse's author and source as absolute URLs of its subject are its subject", async () => {
    const qr = citizenResponse(other, urn());
    const r = await call(base, 'POST', '/QuestionnaireResponse', {
      ...qr,
      author: { reference: `${base}/Patient/${other}` },
      source: { reference: `${base}/Patient/${other}` },
    });
    expect(r.status).toBe(201);
  });

  it('an absolute URL under another base is not the subject (422 kanta-author)', async () => {
    const qr = citizenResponse(other, urn());
    const r = await call(base, 'POST', '/QuestionnaireResponse', {
      ...qr,
      author: { reference: `http://elsewhere.example/fhir/Patient/${other}` },
    });
    expect(r.status).toBe(422);
    expect(firstIssue(r)?.expression).toEqual(['QuestionnaireResponse.author']);
    expect(firstIssue(r)?.diagnostics).toMatch(/^kanta-author: /);
  });
});

describe('type-level paths Kanta PHR does not have are 404 kanta-interaction', () => {
  for (const [method, path] of [
    ['GET', '/Observation/_history'],
    ['DELETE', '/Observation/_history'],
    ['PUT', '/Observation/_history'],
    ['POST', '/Observation/_search'],
    ['GET', '/Observation/_search'],
  ] as const) {
    it(`${method} ${path}`, async () => {
      const r = await call(base, method, path, method === 'PUT' ? bodyWeight(urn()) : undefined);
      expect(r.status).toBe(404);
      expect(r.headers.get('allow')).toBeNull();
      expect(firstIssue(r)?.diagnostics).toBe(
        `kanta-interaction: no Kanta PHR interaction at this path (${method})`,
      );
    });
  }

  it('the type is checked first: an undeclared type there is 404 kanta-type', async () => {
    const r = await call(base, 'GET', '/Practitioner/_history');
    expect(r.status).toBe(404);
    expect(firstIssue(r)?.diagnostics).toMatch(/^kanta-type: /);
  });
});
