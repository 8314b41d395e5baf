// The sandbox's rules a review found loose: a modifier on a parameter answered by filtering (never
// ignored), a QuestionnaireResponse without its author, a narrative element in another language than
// `language`, and a conditional create whose criteria name no identifier system.
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import {
  batch,
  bodyWeight,
  call,
  citizenResponse,
  firstIssue,
  kantaExample,
  phrPatient,
  startSandboxHere,
  urn,
} from './helpers.ts';

const KYKYVIISARI = 'https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari';
const SYSTEM = 'urn:ietf:rfc:3986';
let remoteStore: Store;
let sandbox: RunningServer;
let base: string;
let pid: string;
let qrId: string;
let qrIdentifier: string;

beforeAll(async () => {
  ({ remoteStore, sandbox } = await startSandboxHere());
  base = `${sandbox.url}/fhir`;
  pid = (await call(base, 'POST', '/Patient', phrPatient())).body.id;
  qrIdentifier = urn();
  const qr = await call(base, 'POST', '/QuestionnaireResponse', citizenResponse(pid, qrIdentifier));
  expect(qr.status).toBe(201);
  qrId = qr.body.id;
});
afterAll(async () => {
  await sandbox?.close();
  await remoteStore?.close();
});

const search = (path: string) => call(base, 'GET', path);

describe('a modifier on a parameter the sandbox answers by filtering is refused, never ignored', () => {
  it('questionnaire: the plain value matches; any modifier is 400 kanta-search naming the parameter', async () => {
    const plain = await search(`/QuestionnaireResponse?patient=${pid}&questionnaire=${KYKYVIISARI}`);
    expect(plain.status).toBe(200);
    expect(plain.body.entry.map((e: { resource: Resource }) => e.resource.id)).toEqual([qrId]);
    for (const [key, value] of [
      ['questionnaire:missing', 'false'],
      ['questionnaire:not', 'https://example.org/Questionnaire/other'],
      ['questionnaire:below', 'https://tyokyky-fhir.org/fhir'],
      ['questionnaire:foo', 'x'],
    ]) {
      const r = await search(`/QuestionnaireResponse?patient=${pid}&${key}=${value}`);
      expect(r.status, key).toBe(400);
      expect(firstIssue(r), key).toMatchObject({ code: 'not-supported', expression: [key] });
      expect(firstIssue(r)?.diagnostics, key).toMatch(/^kanta-search: .*'questionnaire'/);
    }
  });

  it('supporting-info on CarePlan and effective-time on MedicationAdministration: modifiers refused', async () => {
    const { id: _c, ...cp } = kantaExample<Resource & Record<string, unknown>>(
      'CarePlan-b88191e3-ea47-4feb-9da9-e3b359fa8fca.json',
    );
    const who = { reference: `Patient/${pid}` };
    const plan = {
      ...cp,
      identifier: [{ system: SYSTEM, value: urn() }],
      subject: who,
      author: who,
      status: 'completed',
      period: { start: '2026-01-01', end: '2026-06-30' },
      supportingInfo: [{ reference: `QuestionnaireResponse/${qrId}` }],
    };
    const created = await call(base, 'POST', '/CarePlan', plan);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const plain = await search(`/CarePlan?patient=${pid}&supporting-info=QuestionnaireResponse/${qrId}`);
    expect(plain.body.entry).toHaveLength(1);
    for (const q of [
      'supporting-info:missing=false',
      `supporting-info:identifier=${SYSTEM}|${qrIdentifier}`,
      `supporting-info:QuestionnaireResponse=${qrId}`,
    ]) {
      const r = await search(`/CarePlan?patient=${pid}&${q}`);
      expect(r.status, q).toBe(400);
      expect(firstIssue(r)?.diagnostics, q).toMatch(/^kanta-search: .*'supporting-info'/);
    }
    for (const q of ['effective-time:missing=false', 'effective-time:exact=2021-09-04']) {
      const r = await search(`/MedicationAdministration?patient=${pid}&${q}`);
      expect(r.status, q).toBe(400);
      expect(firstIssue(r)?.diagnostics, q).toMatch(/^kanta-search: .*'effective-time'/);
    }
  });

  it('in a batch, the refusal names the entry’s request.url', async () => {
    const r = await call(
      base,
      'POST',
      '',
      batch([
        {
          request: { method: 'GET', url: `QuestionnaireResponse?patient=${pid}&questionnaire:missing=false` },
        },
      ]),
    );
    expect(r.body.entry[0].response.status).toBe('400');
    expect(r.body.entry[0].response.outcome.issue[0].expression).toEqual(['Bundle.entry[0].request.url']);
  });
});

describe('a QuestionnaireResponse is written by its PHR Patient', () => {
  it('one without author is 422 kanta-author at QuestionnaireResponse.author', async () => {
    const { author: _a, ...noAuthor } = citizenResponse(pid, urn());
    const r = await call(base, 'POST', '/QuestionnaireResponse', noAuthor);
    expect(r.status).toBe(422);
    expect(firstIssue(r)).toMatchObject({
      code: 'required',
      expression: ['QuestionnaireResponse.author'],
    });
    expect(firstIssue(r)?.diagnostics).toMatch(/^kanta-author: /);
  });
});

describe("the narrative's language", () => {
  const withDiv = (div: string) => {
    const qr = citizenResponse(pid, urn());
    return { ...qr, text: { status: 'generated', div } };
  };

  it('every lang and xml:lang inside the div must agree with language', async () => {
    for (const div of [
      '<div xmlns="http://www.w3.org/1999/xhtml"><p lang="sv" xml:lang="sv">Hej</p></div>',
      '<div xmlns="http://www.w3.org/1999/xhtml" lang="fi"><p>Hei</p><span xml:lang="en">Hi</span></div>',
      "<div xmlns='http://www.w3.org/1999/xhtml' lang='fi'><p class='x' lang='sv'>Hej</p></div>",
      '<div xmlns="http://www.w3.org/1999/xhtml"><ul><li><br/><b xml:lang="sv">Hej</b></li></ul></div>',
      // A `>` or a `lang=` inside another attribute's value hides nothing: each value is read whole.
      '<div xmlns="http://www.w3.org/1999/xhtml" lang="fi"><p title="a>b" lang="sv" xml:lang="sv">Hej</p></div>',
      '<div xmlns="http://www.w3.org/1999/xhtml" lang="fi"><p title=">" lang="sv">Hej</p></div>',
      '<div xmlns="http://www.w3.org/1999/xhtml" title="x>y" lang="sv">Hej</div>',
      '<div xmlns="http://www.w3.org/1999/xhtml" lang="fi"><p title=" lang=\'fi\'" lang="sv">Hej</p></div>',
    ]) {
      const r = await call(base, 'POST', '/QuestionnaireResponse', withDiv(div));
      expect(r.status, div).toBe(422);
      expect(firstIssue(r), div).toMatchObject({
        code: 'invariant',
        expression: ['QuestionnaireResponse.text.div'],
      });
      expect(firstIssue(r)?.diagnostics, div).toMatch(/^kanta-text: /);
    }
  });

  it('a nested lang that agrees (case aside) is taken', async () => {
    const div =
      '<div xmlns="http://www.w3.org/1999/xhtml" lang="fi"><p lang="FI" xml:lang="fi">Hei</p></div>';
    expect((await call(base, 'POST', '/QuestionnaireResponse', withDiv(div))).status).toBe(201);
  });
});

describe("a conditional create's identifier is a business identifier", () => {
  it('a bare value is read as urn:ietf:rfc:3986|value: it does not match another person’s local-system one', async () => {
    const other = (await call(base, 'POST', '/Patient', phrPatient())).body.id;
    const idB = urn();
    const a = bodyWeight(urn());
    const theirs = {
      ...a,
      subject: { reference: `Patient/${other}` },
      identifier: [
        ...(a as { identifier: object[] }).identifier,
        { system: 'http://local.example/ids', value: idB },
      ],
    };
    const stored = await call(base, 'POST', '/Observation', theirs);
    expect(stored.status).toBe(201);
    const mine = { ...bodyWeight(idB), subject: { reference: `Patient/${pid}` } };
    const first = await call(base, 'POST', '/Observation', mine, { 'If-None-Exist': `identifier=${idB}` });
    expect(first.status).toBe(201);
    expect(first.body.id).not.toBe(stored.body.id);
    expect(first.body.subject).toEqual({ reference: `Patient/${pid}` });
    // A retry finds the one just made, by either spelling.
    for (const criteria of [`identifier=${idB}`, `identifier=${SYSTEM}|${idB}`]) {
      const again = await call(base, 'POST', '/Observation', mine, { 'If-None-Exist': criteria });
      expect(again.status, criteria).toBe(200);
      expect(again.body.id, criteria).toBe(first.body.id);
    }
  });

  it('|value (no system) and system| (any value) are 400 kanta-conditional, quoting nothing', async () => {
    const value = urn();
    const body = { ...bodyWeight(value), subject: { reference: `Patient/${pid}` } };
    for (const criteria of [`identifier=|${value}`, `identifier=${SYSTEM}|`]) {
      const r = await call(base, 'POST', '/Observation', body, { 'If-None-Exist': criteria });
      expect(r.status, criteria).toBe(400);
      expect(firstIssue(r), criteria).toMatchObject({ code: 'not-supported', expression: ['If-None-Exist'] });
      expect(firstIssue(r)?.diagnostics, criteria).toMatch(/^kanta-conditional: .*system\|value/);
      expect(JSON.stringify(r.body)).not.toContain(value);
    }
  });
});
