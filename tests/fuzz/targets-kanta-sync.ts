/**
 * A target that checks the Kanta PHR adapter against a model: a random sequence of a client's
 * self-assessment responses written and edited here, and edited, restricted, released, deleted or
 * filled in by the citizen on Kanta PHR (a sandbox facade in `kanta-phr` mode behind our fault
 * proxy), with pushes (an answer lost, a request refused, or an answer held while a pull runs) and
 * pulls between them. The model says what each response must hold on each side at the end
 * (docs/kanta.md): a local edit goes as a versioned update; the citizen's edit comes down with the
 * next pull when nothing is queued here, and wins the push's 412 when something is
 * (self-assessments are remote-wins); a version the citizen restricted is never overwritten and
 * labels the local copy restricted, its answers kept; a released one brings its answers and takes
 * the label away; a response the citizen deleted stays deleted there and held here. After a last push,
 * pull and push both sides must hold exactly that, and the outbox must be settled: nothing dead,
 * parked or blocked.
 */
import { randomUUID } from 'node:crypto';
import type { Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { personas } from '../../examples/tools/personas.ts';
import { isRestricted, toResources } from '../../src/mapping/index.ts';
import { openStore } from '../../src/store/index.ts';
import { createSync, remoteConfigFrom } from '../../src/sync/index.ts';
import { startFacadeHere } from '../helpers/facade.ts';
import { startFaultProxy } from '../sync/helpers/fault-proxy.ts';
import { consent, patient } from '../sync/helpers/fixtures.ts';
import { drain } from '../sync/helpers/waits.ts';
import { type PushFault, judgeCase, meetFault } from './model-outcome.ts';
import { type Rng, pick } from './mutate.ts';
import type { Target } from './target.ts';

const SYSTEM = 'urn:ietf:rfc:3986';
const FHIR = 'application/fhir+json';
const LABEL = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
const KANTA_PROFILE = 'http://phr.kanta.fi/StructureDefinition/fiphr-sd-questionnaireresponse-r4';
/** Responses per case. */
const SLOTS = 3;

type Fault = PushFault;

type Op =
  | { kind: 'create' | 'update' | 'citizen-edit' | 'citizen-create'; slot: number; value: number }
  | { kind: 'delete' | 'citizen-restrict' | 'citizen-release' | 'citizen-delete'; slot: number }
  | { kind: 'push'; fault?: Fault }
  | { kind: 'pull' };

const KINDS = [
  ...['create', 'create', 'update', 'update', 'delete', 'push', 'push', 'pull', 'pull'],
  ...[
    'citizen-edit',
    'citizen-edit',
    'citizen-create',
    'citizen-restrict',
    'citizen-release',
    'citizen-delete',
  ],
] as Op['kind'][];

function operations(rng: Rng): Op[] {
  return Array.from({ length: 4 + Math.floor(rng() * 14) }, (): Op => {
    const kind = pick(rng, KINDS);
    const slot = Math.floor(rng() * SLOTS);
    if (kind === 'pull') return { kind };
    if (kind === 'push') {
      const fault = pick(rng, [undefined, undefined, 'lose-answer', 'refuse', 'hold-pull'] as const);
      return fault ? { kind, fault } : { kind };
    }
    if (
      kind === 'delete' ||
      kind === 'citizen-restrict' ||
      kind === 'citizen-release' ||
      kind === 'citizen-delete'
    )
      return { kind, slot };
    return { kind, slot, value: Math.floor(rng() * 11) };
  });
}

interface Copy {
  value: number;
  restricted: boolean;
}

/** One response, and what the model expects of it. */
interface Slot {
  /** Its business identifier is `urn:uuid:<id>`. */
  id: string;
  /** What the local copy holds (absent: none here). */
  local?: Copy;
  /** What Kanta PHR holds (absent: never there). */
  remote?: Copy & { deleted: boolean };
  /** A local change not pushed yet. */
  queued: boolean;
  /** Deleted here: deletes stay local, and a change queued before the delete is not sent. */
  deletedHere: boolean;
  /** Kanta PHR holds a version the sync has not agreed on yet (the citizen changed it). */
  ahead: boolean;
}

const overallOf = (qr: QuestionnaireResponse) =>
  qr.item?.find((i) => i.linkId === 'overall')?.answer?.[0]?.valueInteger;

const withOverall = <T extends QuestionnaireResponse>(qr: T, value: number): T => ({
  ...qr,
  item: qr.item?.map((i) => (i.linkId === 'overall' ? { ...i, answer: [{ valueInteger: value }] } : i)),
});

/** A narrative of the citizen's app: its versions never equal one we sent. */
const citizenText = () => ({
  status: 'generated' as const,
  div: `<div xmlns="http://www.w3.org/1999/xhtml">${randomUUID()}</div>`,
});

/** A response the citizen filled in on Kanta PHR (their app), for the PHR Patient `phr`. */
function filledIn(phr: string, id: string, value: number): QuestionnaireResponse {
  const who = { reference: `Patient/${phr}` };
  return {
    resourceType: 'QuestionnaireResponse',
    meta: { profile: [KANTA_PROFILE] },
    language: 'fi',
    text: citizenText(),
    extension: [
      {
        url: 'http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication',
        extension: [
          { url: 'name', valueString: 'Kansalaisen sovellus' },
          { url: 'applicationId', valueString: 'citizen-app-7' },
        ],
      },
    ],
    identifier: { system: SYSTEM, value: `urn:uuid:${id}` },
    questionnaire: 'https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari',
    status: 'completed',
    subject: who,
    authored: '2026-05-05',
    author: who,
    source: who,
    item: [{ linkId: 'overall', answer: [{ valueInteger: value }] }],
  };
}

async function send(url: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': FHIR, accept: FHIR, ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status >= 300) throw new Error(`the sandbox answered ${method} with ${res.status}`);
}

/** Kanta PHR (a sandbox) behind the fault proxy, a local store with one consenting client and its PHR Patient. */
async function openSides() {
  const sandbox = await startFacadeHere({ dataDir: 'memory://' }, { mode: 'kanta-phr', strict: false });
  const proxy = await startFaultProxy(sandbox.url);
  const store = await openStore({ dataDir: 'memory://' });
  const remote = remoteConfigFrom({
    remote: proxy.url,
    party: 'kela',
    remoteKind: 'kanta-phr',
    applicationName: 'tyokyky-fhir fuzz',
    applicationId: 'kela-fuzz-1',
  });
  if (!remote) throw new Error('no remote configured');
  const sync = createSync({
    store,
    remote: {
      ...remote,
      timeoutMs: 5_000,
      retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 100, maxRetryAfterMs: 100 },
      breaker: { consecutiveFailures: 10_000, halfOpenAfterMs: 100 },
    },
    retryBaseMs: 20,
  });
  await sync.ready;
  const client = (await store.create(patient('111181-910Y'))).resource as Patient & { id: string };
  await store.create(consent(client.id, { parties: ['kela'] }));
  // A first response makes the client's PHR Patient on Kanta PHR.
  await store.create(localResponse(client.id, randomUUID(), 5));
  await drain(sync);
  const [phr] = await store.query<{ remote_id: string }>('SELECT remote_id FROM sync_kanta_patient');
  if (!phr) throw new Error('no PHR Patient was made');
  return { sandbox, proxy, store, sync, client: client.id, phr: phr.remote_id };
}

type Sides = Awaited<ReturnType<typeof openSides>>;

function localResponse(patientId: string, id: string, value: number): QuestionnaireResponse {
  const [qr] = toResources('selfAssessment', {
    id,
    clientId: personas.suvi.client.id,
    date: '2026-06-01',
    overall: value,
  }) as QuestionnaireResponse[];
  const who = { reference: `Patient/${patientId}` };
  return { ...(qr as QuestionnaireResponse), subject: who, author: who };
}

/** One case's operations on both sides, each followed in the slots by what the model expects. */
class Model {
  constructor(
    private readonly sides: Sides,
    readonly slots: Slot[],
  ) {}

  async localCopies(s: Slot) {
    const q = { identifier: `${SYSTEM}|urn:uuid:${s.id}` };
    return (await this.sides.store.search('QuestionnaireResponse', q)).resources as QuestionnaireResponse[];
  }

  async remoteCopies(s: Slot) {
    const { sandbox, phr } = this.sides;
    const q = `patient=Patient/${phr}&identifier=${encodeURIComponent(`${SYSTEM}|urn:uuid:${s.id}`)}`;
    const res = await fetch(`${sandbox.url}/QuestionnaireResponse?${q}`, { headers: { accept: FHIR } });
    const bundle = (await res.json()) as { entry?: { resource: QuestionnaireResponse }[] };
    return (bundle.entry ?? []).map((e) => e.resource);
  }

  async apply(op: Op): Promise<void> {
    if (op.kind === 'push') return this.push(op.fault);
    if (op.kind === 'pull') return this.pull();
    const s = this.slots[op.slot] as Slot;
    if (op.kind === 'create') return this.create(s, op.value);
    if (op.kind === 'update') return this.update(s, op.value);
    if (op.kind === 'delete') return this.delete(s);
    if (op.kind === 'citizen-create') return this.citizenCreate(s, op.value);
    if (op.kind === 'citizen-edit')
      return this.citizenChange(s, (r) => withOverall(r, op.value), { value: op.value });
    if (op.kind === 'citizen-delete') return this.citizenDelete(s);
    const restricted = op.kind === 'citizen-restrict';
    return this.citizenChange(s, (r) => r, { restricted });
  }

  async create(s: Slot, value: number) {
    // Identifiers are ours: a response here never shares one with the citizen's own (or a deleted one).
    if (s.local || s.remote || s.deletedHere) return;
    await this.sides.store.create(localResponse(this.sides.client, s.id, value));
    Object.assign(s, { local: { value, restricted: false }, queued: true });
  }

  async update(s: Slot, value: number) {
    const [now] = await this.localCopies(s);
    // (A response deleted here has no copy to edit.)
    if (!now || !s.local || s.local.value === value) return;
    await this.sides.store.update(withOverall(now, value), { ifMatch: now.meta?.versionId });
    Object.assign(s, { local: { ...s.local, value }, queued: true });
  }

  /** Deleted here: Kanta PHR keeps what it holds, and a change queued before the delete does not go. */
  async delete(s: Slot) {
    const [now] = await this.localCopies(s);
    if (!now || !s.local) return;
    await this.sides.store.delete('QuestionnaireResponse', now.id as string);
    Object.assign(s, { local: undefined, queued: false, deletedHere: true });
  }

  async citizenCreate(s: Slot, value: number) {
    if (s.local || s.remote || s.deletedHere) return;
    await send(
      `${this.sides.sandbox.url}/QuestionnaireResponse`,
      'POST',
      filledIn(this.sides.phr, s.id, value),
    );
    Object.assign(s, { remote: { value, restricted: false, deleted: false }, ahead: true });
  }

  /** The citizen changes the response there: its answer (`value`) or its restriction. */
  async citizenChange(
    s: Slot,
    change: (r: QuestionnaireResponse) => QuestionnaireResponse,
    to: Partial<Copy>,
  ) {
    const there = s.remote;
    if (!there || there.deleted) return;
    const next = { ...there, ...to };
    if (next.value === there.value && next.restricted === there.restricted) return;
    const [now] = await this.remoteCopies(s);
    if (!now) throw new Error('the sandbox lost a response the model holds');
    const { security: _labels, ...meta } = now.meta ?? {};
    const body = {
      ...change(now),
      text: citizenText(),
      meta: { profile: meta.profile, ...(next.restricted ? { security: [LABEL] } : {}) },
    };
    await send(`${this.sides.sandbox.url}/QuestionnaireResponse/${now.id}`, 'PUT', body, {
      'if-match': `W/"${now.meta?.versionId}"`,
    });
    Object.assign(s, { remote: next, ahead: true });
  }

  async citizenDelete(s: Slot) {
    if (!s.remote || s.remote.deleted) return;
    const [now] = await this.remoteCopies(s);
    await send(`${this.sides.sandbox.url}/QuestionnaireResponse/${now?.id}`, 'DELETE');
    s.remote.deleted = true;
  }

  async pull() {
    await this.sides.sync.pullOnce();
    for (const s of this.slots) {
      const there = s.remote;
      // Deleted here: a pull does not bring it back.
      if (!there || there.deleted || !s.ahead || s.deletedHere) continue;
      // Restricted: the copy here (if any) is labelled, its answers kept; the restricted version is
      // never agreed on, so a push over it meets a 412.
      if (there.restricted) {
        if (s.local) s.local.restricted = true;
        continue;
      }
      // A change queued here: left to its push (the 412 settles it).
      if (s.local && s.queued) continue;
      Object.assign(s, { local: { value: there.value, restricted: false }, ahead: false });
    }
  }

  /** A push, its first request meeting `fault`; `hold-pull` pulls while that request's answer is held. */
  async push(fault?: Fault) {
    const { proxy, sync } = this.sides;
    await meetFault(
      proxy,
      fault,
      () => sync.pushOnce(),
      () => this.pull(),
      'POST',
    );
    await drain(sync);
    Object.assign(proxy.faults, { dropNext: 0, errorNext: 0, holdMethod: undefined });
    for (const s of this.slots) if (s.queued) this.pushed(s);
  }

  /** What pushing a queued local change does to the model. */
  pushed(s: Slot) {
    s.queued = false;
    const here = s.local as Copy;
    const there = s.remote;
    if (!there) {
      Object.assign(s, { remote: { ...here, deleted: false }, ahead: false });
      return;
    }
    // Deleted there by the citizen: not sent. Restricted there: never overwritten.
    if (there.deleted || (s.ahead && there.restricted)) return;
    // Not ahead: the versioned update goes. Ahead: the 412's remote-wins keeps the citizen's version.
    if (s.ahead) s.local = { value: there.value, restricted: false };
    else s.remote = { ...here, deleted: false };
    s.ahead = false;
  }

  /** What is wrong with one response on either side, or undefined. */
  async judge(s: Slot): Promise<string | undefined> {
    const live = s.remote && !s.remote.deleted ? s.remote : undefined;
    const sides: [string, Copy | undefined, QuestionnaireResponse[]][] = [
      ['Kanta PHR', live, await this.remoteCopies(s)],
      ['local store', s.local, await this.localCopies(s)],
    ];
    for (const [side, expected, found] of sides) {
      if (!expected) {
        if (found.length) return `${side} holds a response the model does not`;
        continue;
      }
      if (found.length !== 1) return `${side} holds ${found.length} responses for one identifier`;
      const copy = found[0] as QuestionnaireResponse;
      if (overallOf(copy) !== expected.value) return `${side} holds another answer than the model's`;
      if (isRestricted(copy as Resource) !== expected.restricted)
        return `${side} ${expected.restricted ? 'lacks' : 'holds'} the restriction label against the model`;
    }
    return undefined;
  }
}

export const kantaSyncModel: Target = {
  name: 'kanta-sync-model',
  what: 'responses written and edited here, and edited, restricted, released, deleted or filled in by the citizen on Kanta PHR, with pushes (faults) and pulls between them, leave both sides holding what docs/kanta.md says',
  async open() {
    const sides = await openSides();
    return {
      seeds: [null],
      input: (_mutated, rng) => operations(rng),
      async check(input) {
        const slots = Array.from(
          { length: SLOTS },
          (): Slot => ({ id: randomUUID(), queued: false, ahead: false, deletedHere: false }),
        );
        const model = new Model(sides, slots);
        const ops = [...(input as Op[]), { kind: 'push' }, { kind: 'pull' }, { kind: 'push' }] as Op[];
        return judgeCase(
          sides.sync,
          ops,
          (op) => model.apply(op),
          model.slots,
          (s) => model.judge(s),
        );
      },
      close: async () => {
        await sides.sync.stop();
        await sides.proxy.close();
        await sides.store.close();
        await sides.sandbox.stop();
      },
    };
  },
};
