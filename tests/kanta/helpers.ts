import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcome, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, expect } from 'vitest';
import { KANTA_PACKAGE_DIR } from '../../profiles/kanta-phr/build.ts';
import { toResources } from '../../src/mapping/index.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync, remoteConfigFrom } from '../../src/sync/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { silent } from '../server/helpers.ts';
import { consent, patient } from '../sync/helpers/fixtures.ts';

export const FHIR = 'application/fhir+json';
export const EXAMPLES = join(KANTA_PACKAGE_DIR, 'example');

export function kantaExample<T = Resource>(file: string): T {
  return JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as T;
}

export const urn = () => `urn:uuid:${randomUUID()}`;

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'Content-Type': FHIR, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** The first issue of an OperationOutcome reply, checked to be one. */
export function firstIssue(r: Reply) {
  const oo = r.body as OperationOutcome;
  expect(oo.resourceType).toBe('OperationOutcome');
  return oo.issue?.[0];
}

/** A pseudonymous Kanta PHR Patient (fiphr-sd-patient): one urn:uuid identifier, nothing else. */
export function phrPatient(value = urn()): Resource {
  return {
    resourceType: 'Patient',
    meta: { profile: ['http://phr.kanta.fi/StructureDefinition/fiphr-sd-patient'] },
    language: 'fi',
    text: {
      status: 'generated',
      div: '<div xmlns="http://www.w3.org/1999/xhtml" lang="fi">Pseudonyymi potilas</div>',
    },
    identifier: [{ system: 'urn:ietf:rfc:3986', value }],
    active: true,
  } as Resource;
}

/** The Kanta PHR sandbox as a facade in the test's process, on an in-memory PGlite store of its own. */
export async function startSandboxHere(): Promise<{ remoteStore: Store; sandbox: RunningServer }> {
  const remoteStore = await openStore({ dataDir: 'memory://' });
  const sandbox = await startServer({
    store: remoteStore as never,
    validator: (await loadProjectValidator()) as never,
    logger: silent,
    mode: 'kanta-phr',
  });
  return { remoteStore, sandbox };
}

/** `tyokyky serve --mode kanta-phr` as a real second process on its own PostgreSQL database. */
export async function startSandbox(
  databaseUrl: string,
): Promise<{ url: string; child: import('node:child_process').ChildProcess; stop(): Promise<void> }> {
  const { startServe } = await import('../helpers/processes.ts');
  return startServe(['--no-strict', '--mode', 'kanta-phr', '--database-url', databaseUrl]);
}

/** Kanta's minimal body-weight Observation, without its id, carrying these global business identifiers. */
export function bodyWeight(...values: string[]): Resource & { subject: { reference: string } } {
  const { id: _id, ...obs } = kantaExample<Resource & { subject: { reference: string } }>(
    'Observation-bodyweight-min.json',
  );
  return { ...obs, identifier: values.map((value) => ({ system: 'urn:ietf:rfc:3986', value })) } as never;
}

/** A batch Bundle of these entries. */
export const batch = (entry: unknown[]) => ({ resourceType: 'Bundle', type: 'batch', entry });

/** The statuses of a batch answer's entries. */
export const statuses = (r: Reply): string[] =>
  (r.body.entry as { response: { status: string } }[]).map((e) => e.response.status);

/** The first issue of a batch answer's entry `i`. */
export const entryIssue = (r: Reply, i: number) => r.body.entry[i].response.outcome.issue[0];

export const KANTA_QR_PROFILE = 'http://phr.kanta.fi/StructureDefinition/fiphr-sd-questionnaireresponse-r4';
export const CREATING_APPLICATION = 'http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication';

/**
 * A response a citizen filled in on Kanta PHR (their own app), authored by their PHR Patient `phr`;
 * its subject that Patient unless `subject` names another reference.
 */
export function citizenResponse(
  phr: string,
  identifier: string,
  opts: { overall?: number; subject?: string } = {},
): QuestionnaireResponse {
  // The citizen writes their own answers: author and source name the subject as it is written.
  const who = { reference: opts.subject ?? `Patient/${phr}` };
  return {
    resourceType: 'QuestionnaireResponse',
    meta: { profile: [KANTA_QR_PROFILE] },
    language: 'fi',
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Kotona täytetty</div>' },
    extension: [
      {
        url: CREATING_APPLICATION,
        extension: [
          { url: 'name', valueString: 'Kansalaisen sovellus' },
          { url: 'applicationId', valueString: 'citizen-app-7' },
        ],
      },
    ],
    identifier: { system: 'urn:ietf:rfc:3986', value: identifier },
    questionnaire: 'https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari',
    status: 'completed',
    subject: who,
    author: who,
    source: who,
    authored: '2026-05-05',
    item: [{ linkId: 'overall', answer: [{ valueInteger: opts.overall ?? 9 }] }],
  };
}

/**
 * A self-assessment as the SDK writes it (Kykyviisari, `overall`), with the client's Patient
 * `Patient/<patientId>` (or the reference `subject` gives) as subject and author, ready to store.
 */
export function sdkResponse(
  patientId: string,
  overall = 6,
  change: Partial<QuestionnaireResponse> = {},
): QuestionnaireResponse {
  const [qr] = toResources('selfAssessment', {
    id: randomUUID(),
    clientId: 'local',
    date: '2026-04-01',
    overall,
  }) as QuestionnaireResponse[];
  const who = { reference: patientId.includes('/') ? patientId : `Patient/${patientId}` };
  return { ...(qr as QuestionnaireResponse), subject: who, author: who, ...change };
}

/** The creating application the Kanta sync suites write as. */
export const TEST_APPLICATION = { name: 'tyokyky-tests', applicationId: 'kela-test-app-3' };

/** A local store syncing with a sandbox in the test's process, and the one client it holds. */
export interface KantaSyncSuite {
  remoteStore: Store;
  sandbox: RunningServer;
  store: Store;
  sync: SyncService;
  /** The client's local Patient id (HETU 120395-902S, consent given to kela). */
  client: string;
}

/**
 * For the suite: a Kanta PHR sandbox in this process and a local PGlite store syncing with it as
 * kela (no pull overlap, quick retries), holding one client whose consent lets kela have its data.
 * The fields are filled in `beforeAll`; everything is closed in `afterAll`.
 */
export function kantaSyncPerSuite(): KantaSyncSuite {
  const suite = {} as KantaSyncSuite;
  beforeAll(async () => {
    ({ remoteStore: suite.remoteStore, sandbox: suite.sandbox } = await startSandboxHere());
    suite.store = await openStore({ dataDir: 'memory://' });
    const remote = remoteConfigFrom({
      remote: `${suite.sandbox.url}/fhir`,
      party: 'kela',
      remoteKind: 'kanta-phr',
      applicationName: TEST_APPLICATION.name,
      applicationId: TEST_APPLICATION.applicationId,
    });
    if (!remote) throw new Error('no remote configured');
    suite.sync = createSync({
      store: suite.store,
      remote: { ...remote, pullOverlapMs: 0, retry: { initialDelayMs: 10, maxDelayMs: 50 } },
    });
    await suite.sync.ready;
    suite.client = (await suite.store.create(patient('120395-902S'))).resource.id as string;
    await suite.store.create(consent(suite.client, { parties: ['kela'] }));
  });
  afterAll(async () => {
    await suite.sync?.stop();
    await suite.store?.close();
    await suite.sandbox?.close();
    await suite.remoteStore?.close();
  });
  return suite;
}
