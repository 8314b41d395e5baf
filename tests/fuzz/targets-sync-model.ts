/**
 * A target that checks the sync against a model: a random sequence of local writes to two consenting
 * clients' records, five business identifiers each (two work-ability scores, whose family is
 * local-wins, one self-assessment, remote-wins, and a support plan and a goal, whose families park a
 * conflict until the operator resolves it — whenever, edits, deletes and pulls may come between — the
 * plan keeping the local version, the goal the remote one) — creates, updates, deletes, re-creates after a
 * delete — mixed with records created and edited on the remote (another system's, or the client's in
 * Omakanta), either client withdrawing consent and giving it again (the other's records must go on as
 * before), a score linked to its client's self-assessment it was derived from and unlinked, pushes
 * (two workers) and pulls. The sync talks to the remote through our fault proxy: a push's first request may
 * be refused (503), lose its answer after it took effect, or have its answer held while a pull runs; a
 * pull (pages of two) may fail half-way, the remote refusing its later requests, before a whole one. The
 * model says what each identifier must hold at the end (docs/sync.md): a local edit queued when the
 * remote changed wins on a local-wins family and gives way on a remote-wins one; a remote edit to a
 * record with nothing queued here comes down with the next pull; a local delete is the last word; while
 * consent is withdrawn local creates and edits wait (a delete goes), and on a remote-wins family a pull
 * brings a remote edit over a waiting one. After
 * a last push, pull and push both sides must hold exactly that — one live resource with the model's
 * value, or none, and no score naming a self-assessment that side lacks — and the outbox must be
 * settled, nothing dead, held, parked or blocked.
 */
import { randomUUID } from 'node:crypto';
import type {
  CarePlan,
  Consent,
  Goal,
  Observation,
  Patient,
  QuestionnaireResponse,
  Resource,
} from '@medplum/fhirtypes';
import { openStore } from '../../src/store/index.ts';
import { createSync } from '../../src/sync/index.ts';
import { startFacadeHere } from '../helpers/facade.ts';
import { startFaultProxy } from '../sync/helpers/fault-proxy.ts';
import {
  carePlan,
  consent,
  patient,
  remoteAll,
  remotePost,
  remotePut,
  score,
  selfAssessment,
  withdrawn,
} from '../sync/helpers/fixtures.ts';
import { drain } from '../sync/helpers/waits.ts';
import { type PushFault, judgeCase, meetFault } from './model-outcome.ts';
import { type Rng, pick } from './mutate.ts';
import type { Target } from './target.ts';

const SYSTEM = 'urn:ietf:rfc:3986';

/** How a family's records are made and what value the model follows in them. */
interface Family {
  type: 'Observation' | 'QuestionnaireResponse' | 'CarePlan' | 'Goal';
  /**
   * Which version a conflict keeps: by its 412 policy (docs/sync.md, resource families), or, on a
   * family whose policy is `park`, by the operator's choice when they resolve it (a `resolve` op).
   */
  wins: 'local' | 'remote';
  /** Its policy is `park`: in a pull it waits like a local-wins family (a blocked edit is not replaced). */
  parks?: boolean;
  make(patientId: string, identifier: string, value: number): Resource;
  valueOf(r: Resource): number | undefined;
  withValue<T extends Resource>(r: T, value: number): T;
}

const SCORES: Family = {
  type: 'Observation',
  wins: 'local',
  make: (patientId, identifier, value) => ({
    ...score(patientId, value),
    identifier: [{ system: SYSTEM, value: identifier }],
  }),
  valueOf: (r) => (r as Observation).valueInteger,
  withValue: (r, value) => ({ ...r, valueInteger: value }),
};

const SELF_ASSESSMENTS: Family = {
  type: 'QuestionnaireResponse',
  wins: 'remote',
  make: (patientId, identifier, value) =>
    SELF_ASSESSMENTS.withValue(
      { ...selfAssessment(patientId), identifier: { system: SYSTEM, value: identifier } },
      value,
    ),
  valueOf: (r) => (r as QuestionnaireResponse).item?.[0]?.answer?.[0]?.valueInteger,
  withValue: (r, value) => ({ ...r, item: [{ linkId: 'work-ability', answer: [{ valueInteger: value }] }] }),
};

/** Support plans, whose policy is park; the operator keeps the local version. */
const PLANS: Family = {
  type: 'CarePlan',
  wins: 'local',
  parks: true,
  make: (patientId, identifier, value) =>
    PLANS.withValue(
      { ...(carePlan(patientId) as CarePlan), identifier: [{ system: SYSTEM, value: identifier }] },
      value,
    ),
  valueOf: (r) => Number((r as CarePlan).title?.split(' ')[1]),
  withValue: (r, value) => ({ ...r, title: `Suunnitelma ${value}` }),
};

/** Goals, whose policy is park; the operator keeps the remote version. */
const GOALS: Family = {
  type: 'Goal',
  wins: 'remote',
  parks: true,
  make: (patientId, identifier, value) =>
    GOALS.withValue(
      {
        resourceType: 'Goal',
        language: 'fi',
        identifier: [{ system: SYSTEM, value: identifier }],
        lifecycleStatus: 'active',
        description: { text: '' },
        subject: { reference: `Patient/${patientId}` },
      } as Goal,
      value,
    ),
  valueOf: (r) => Number((r as Goal).description?.text?.split(' ')[1]),
  withValue: (r, value) => ({ ...r, description: { text: `Tavoite ${value}` } }),
};

/**
 * Each client's records: two scores (slots 0, 1 of the client), one self-assessment (slot 2), one
 * support plan and one goal (slots 3, 4).
 */
const FAMILIES = [SCORES, SCORES, SELF_ASSESSMENTS, PLANS, GOALS];

/** The families whose policy is park, by resource type: the version the operator keeps. */
const PARKED_KEEPS = new Map(FAMILIES.filter((f) => f.parks).map((f) => [f.type, f.wins]));

/** Two clients, each with a consent of their own (withdrawing one's must not hold the other's records). */
const CLIENTS = ['241181-9242', '251181-925R'];

/** A narrative of the remote's own: content equal to a version we sent would be taken for our own write. */
const ownText = () => ({
  status: 'generated' as const,
  div: `<div xmlns="http://www.w3.org/1999/xhtml">${randomUUID()}</div>`,
});

type Fault = PushFault;

type Op =
  | { kind: 'create' | 'update' | 'remote-create' | 'remote-edit'; slot: number; value: number }
  | { kind: 'delete'; slot: number }
  | { kind: 'link'; slot: number }
  | { kind: 'unlink'; slot: number }
  | { kind: 'push'; fault?: Fault }
  /** The operator resolves every parked conflict (by the version its family keeps), then a push. */
  | { kind: 'resolve' }
  /** `failAfter`: the pull fails after that many requests (the remote refuses the rest), then a pull runs whole. */
  | { kind: 'pull'; failAfter?: number }
  | { kind: 'withdraw'; client: number }
  | { kind: 'consent'; client: number };

const KINDS = [
  ...['create', 'create', 'update', 'update', 'delete', 'push', 'push', 'pull'],
  ...['remote-create', 'remote-edit', 'withdraw', 'consent', 'link', 'unlink', 'resolve'],
] as Op['kind'][];

function operations(rng: Rng): Op[] {
  const slots = CLIENTS.length * FAMILIES.length;
  // Most operations of a case land on two records of it: a conflict needs a record created, pushed,
  // then changed on both sides before the next push.
  const focus = [Math.floor(rng() * slots), Math.floor(rng() * slots)];
  return Array.from({ length: 4 + Math.floor(rng() * 12) }, (): Op => {
    const kind = pick(rng, KINDS);
    const slot = rng() < 0.75 ? pick(rng, focus) : Math.floor(rng() * slots);
    const client =
      kind === 'withdraw' || kind === 'consent'
        ? Math.floor(rng() * CLIENTS.length)
        : Math.floor(slot / FAMILIES.length);
    if (kind === 'pull') return rng() < 0.3 ? { kind, failAfter: Math.floor(rng() * 8) } : { kind };
    if (kind === 'withdraw' || kind === 'consent') return { kind, client };
    if (kind === 'resolve') return { kind };
    if (kind === 'push') {
      const fault = pick(rng, [undefined, undefined, 'lose-answer', 'refuse', 'hold-pull'] as const);
      return fault ? { kind, fault } : { kind };
    }
    if (kind === 'delete') return { kind, slot };
    // A score (slot 0 or 1 of a client) linked to, or unlinked from, the self-assessment (slot 2 of the
    // same client) it was derived from.
    if (kind === 'link' || kind === 'unlink') return { kind, slot: client * FAMILIES.length + (slot % 2) };
    return { kind, slot, value: Math.floor(rng() * 11) };
  });
}

/** One business identifier, and what the model expects of it. */
interface Slot {
  family: Family;
  /** Whose record it is (an index of CLIENTS). */
  client: number;
  identifier: string;
  /** The value both sides must end with (undefined: no live resource). */
  expected?: number;
  /** A local change is queued (not pushed yet). */
  queued: boolean;
  /** The remote changed since the two sides last agreed. */
  remoteAhead: boolean;
  /** A local delete is queued: it is the last word, whatever the remote does meanwhile. */
  deleteQueued: boolean;
  /** The queued local change met a push while consent was withdrawn: blocked until consent returns. */
  blocked: boolean;
  /** Created on the remote and not on this side yet (a pull brings it), with its value there. */
  remoteOnly?: { value: number };
}

/** The two sides of one run: a remote facade behind our fault proxy, a local store with two sync workers. */
async function openSides() {
  // A long run pulls five types per client many times a minute: more than the default rate limit allows.
  const remote = await startFacadeHere({ dataDir: 'memory://' }, { strict: false, rateLimit: 1_000_000 });
  const proxy = await startFaultProxy(remote.url);
  const store = await openStore({ dataDir: 'memory://' });
  // Two workers on the one store (as two `serve` processes on one database): each push drains with both.
  const worker = (installHook: boolean) =>
    createSync({
      store,
      remote: {
        baseUrl: proxy.url,
        party: 'other-health-care',
        timeoutMs: 5_000,
        retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 100, maxRetryAfterMs: 100 },
        breaker: { consecutiveFailures: 10_000, halfOpenAfterMs: 100 },
      },
      pullTypes: ['Consent', 'QuestionnaireResponse', 'Observation', 'CarePlan', 'Goal'],
      families: Object.fromEntries([...PARKED_KEEPS.keys()].map((t) => [t, { conflict: 'park' as const }])),
      // Pages of two: a client's records span pages, and a pull goes on from a page's last stamp.
      pullPageSize: 2,
      retryBaseMs: 20,
      installHook,
    });
  const workers = [worker(true), worker(false)] as const;
  await Promise.all(workers.map((w) => w.ready));
  const clientIds: string[] = [];
  for (const hetu of CLIENTS) {
    const client = (await store.create(patient(hetu))).resource as Patient;
    await store.create(consent(client.id as string));
    clientIds.push(client.id as string);
  }
  await drain(workers[0]);
  const remoteClientIds: string[] = [];
  for (const hetu of CLIENTS) {
    const q = `identifier=${encodeURIComponent(`urn:oid:1.2.246.21|${hetu}`)}`;
    const [remoteClient] = await remoteAll(remote.url, 'Patient', q);
    remoteClientIds.push(remoteClient?.id as string);
  }
  return { remote, proxy, store, workers, clientIds, remoteClientIds };
}

type Sides = Awaited<ReturnType<typeof openSides>>;

/** One case's operations on both sides, each followed in the slots by what the model expects. */
class Model {
  /** Per client: its consent is withdrawn (local creates and edits wait; deletes go). */
  withdrawn = CLIENTS.map(() => false);

  constructor(
    private readonly sides: Sides,
    readonly slots: Slot[],
  ) {}

  remoteCopies(s: Slot) {
    const q = `identifier=${encodeURIComponent(`${SYSTEM}|${s.identifier}`)}`;
    return remoteAll(this.sides.remote.url, s.family.type, q);
  }

  /** The live local resources holding the identifier (a pull may have brought one). */
  async localCopies(s: Slot) {
    return (await this.sides.store.search(s.family.type, { identifier: `${SYSTEM}|${s.identifier}` }))
      .resources;
  }

  async apply(op: Op): Promise<void> {
    if (op.kind === 'push') return this.push(op.fault);
    if (op.kind === 'resolve') return this.resolve();
    if (op.kind === 'pull') return this.pull(op.failAfter);
    if (op.kind === 'withdraw' || op.kind === 'consent')
      return this.setConsent(op.client, op.kind === 'consent');
    const s = this.slots[op.slot] as Slot;
    if (op.kind === 'delete') return this.delete(s);
    if (op.kind === 'link' || op.kind === 'unlink') return this.link(s, op.kind === 'link');
    if (op.kind === 'create') return this.create(s, op.value);
    if (op.kind === 'update') return this.update(s, op.value);
    if (op.kind === 'remote-create') return this.remoteCreate(s, op.value);
    return this.remoteEdit(s, op.value);
  }

  async create(s: Slot, value: number) {
    if ((await this.localCopies(s)).length) return;
    await this.sides.store.create(
      s.family.make(this.sides.clientIds[s.client] as string, s.identifier, value),
    );
    // Against a remote-only copy its push meets as a conflict: remote-wins keeps that copy.
    if (!(s.family.wins === 'remote' && s.remoteOnly)) s.expected = value;
    if (!s.remoteOnly) s.remoteAhead = false;
    s.queued = true;
  }

  async update(s: Slot, value: number) {
    const [now] = await this.localCopies(s);
    // The same content again is no change: the store keeps the version and queues nothing.
    if (!now || s.family.valueOf(now) === value) return;
    await this.sides.store.update(s.family.withValue(now, value), { ifMatchOptional: true });
    // Remote-wins: a local edit made while the remote is ahead gives way at the push's 412.
    if (!(s.family.wins === 'remote' && s.remoteAhead)) s.expected = value;
    s.queued = true;
  }

  async delete(s: Slot) {
    const [now] = await this.localCopies(s);
    // As the facade refuses it (409): a resource a live score is derived from is not deleted.
    if (!now || (await this.linkedScores(now)).length) return;
    await this.sides.store.delete(s.family.type, now.id as string);
    s.queued = true;
    // What never reached the remote is not sent: a remote-only copy stays and a pull brings it.
    if (s.remoteOnly) s.expected = s.remoteOnly.value;
    else Object.assign(s, { expected: undefined, deleteQueued: true });
  }

  /** The live local scores derived from `r`. */
  async linkedScores(r: Resource) {
    const scores = await Promise.all(
      this.slots.filter((x) => x.family === SCORES).map((x) => this.localCopies(x)),
    );
    const ref = `${r.resourceType}/${r.id}`;
    return scores.flat().filter((o) => (o as Observation).derivedFrom?.some((d) => d.reference === ref));
  }

  /**
   * A score derived from (`on`) the live self-assessment here, or no longer: a local edit of the score
   * whose value the model follows as an update to the same value.
   */
  async link(s: Slot, on: boolean) {
    const [score] = (await this.localCopies(s)) as Observation[];
    const [from] = await this.localCopies(this.slots[s.client * FAMILIES.length + 2] as Slot);
    if (!score || (on && !from) || (!on && !score.derivedFrom)) return;
    const { derivedFrom: _old, ...rest } = score;
    const next: Observation = on
      ? { ...rest, derivedFrom: [{ reference: `QuestionnaireResponse/${from?.id}` }] }
      : rest;
    if (JSON.stringify(next.derivedFrom) === JSON.stringify(score.derivedFrom)) return;
    await this.sides.store.update(next, { ifMatchOptional: true });
    s.expected = s.family.valueOf(score);
    s.queued = true;
  }

  async remoteCreate(s: Slot, value: number) {
    if (s.queued || (await this.localCopies(s)).length || (await this.remoteCopies(s)).length) return;
    const made = s.family.make(this.sides.remoteClientIds[s.client] as string, s.identifier, value);
    await remotePost(this.sides.remote.url, { ...made, text: ownText() });
    Object.assign(s, { expected: value, remoteAhead: true, remoteOnly: { value } });
  }

  async remoteEdit(s: Slot, value: number) {
    const there = await this.remoteCopies(s);
    if (there.length !== 1) return;
    await remotePut(this.sides.remote.url, {
      ...s.family.withValue(there[0] as Resource, value),
      text: ownText(),
    });
    s.remoteAhead = true;
    // A remote-only copy with no record here to clash with: nothing queued here concerns it.
    if (s.remoteOnly) s.remoteOnly = { value };
    const alone = s.remoteOnly && !(await this.localCopies(s)).length;
    // Local-wins: a queued local change overwrites it at the push, and a queued delete always goes.
    // Otherwise the remote's edit stands (a later local edit of a remote-wins record gives way to it).
    if (alone || (!(s.family.wins === 'local' && s.queued) && !s.deleteQueued)) s.expected = value;
  }

  /** A client withdraws consent (`given` false) or gives it again, as written here. */
  async setConsent(client: number, given: boolean) {
    if (this.withdrawn[client] !== given) return;
    const { store, clientIds } = this.sides;
    const patient = clientIds[client] as string;
    // A withdrawn consent stays withdrawn (consent-withdrawal-final): agreeing again is a new consent.
    if (given) await store.create(consent(patient));
    else {
      const active = (await store.search('Consent', { patient: `Patient/${patient}`, status: 'active' }))
        .resources as Consent[];
      for (const c of active) await store.update(withdrawn(c), { ifMatchOptional: true });
    }
    this.withdrawn[client] = !given;
    // Consent given again releases the client's blocked rows: queued again, a pull leaves them alone.
    if (given) for (const s of this.slots) if (s.client === client) s.blocked = false;
  }

  async pull(failAfter?: number) {
    const alone = await Promise.all(
      this.slots.map(async (s) => s.remoteOnly && !(await this.localCopies(s)).length),
    );
    if (failAfter !== undefined) {
      // Whatever a pull stored before it failed, a whole pull after it ends where one whole pull would.
      const { proxy, workers } = this.sides;
      Object.assign(proxy.faults, { errorAfter: failAfter, errorNext: 3 });
      await workers[0].pullOnce().catch(() => undefined);
      Object.assign(proxy.faults, { errorAfter: 0, errorNext: 0 });
    }
    await this.sides.workers[0].pullOnce();
    // A record with changes queued is left. A remote-only copy with no live record here comes down;
    // what is queued here then concerns a record that never reached the remote, not this copy.
    // A blocked change of a remote-wins record gives way to a remote edit here too: the remote version
    // comes down, and the blocked row, older than it, is never sent.
    for (const [i, s] of this.slots.entries()) {
      if (alone[i]) Object.assign(s, { queued: false, deleteQueued: false, blocked: false });
      if (s.blocked && s.family.wins === 'remote' && !s.family.parks && s.remoteAhead && !s.deleteQueued)
        Object.assign(s, { queued: false, blocked: false });
      if (!s.queued) agreed(s);
    }
  }

  /** A push, its first request meeting `fault`; `hold-pull` pulls while that request's answer is held. */
  async push(fault?: Fault) {
    const { proxy, workers } = this.sides;
    // While consent is withdrawn the push's consent gate blocks the queued creates and edits before it
    // sends anything — so before a pull made while one of its answers is held, too.
    for (const s of this.slots) if (this.withdrawn[s.client] && s.queued && !s.deleteQueued) s.blocked = true;
    await meetFault(
      proxy,
      fault,
      () => workers[0].pushOnce(),
      () => this.pull(),
    );
    await Promise.all(workers.map((w) => drain(w)));
    Object.assign(proxy.faults, { dropNext: 0, errorNext: 0 });
    const parked = await this.parkedSlots();
    // A push settles the records with changes queued (their 412s resolve any remote edit); a remote
    // edit to one with nothing queued stays ahead until a pull, as does a remote-only copy. While
    // consent is withdrawn only deletes go; creates and edits are blocked. On a park family a change
    // that met a remote edit stays queued until the operator resolves it.
    for (const s of this.slots) {
      if (!s.queued || parked.has(s)) continue;
      if (this.withdrawn[s.client] && !s.deleteQueued) continue;
      Object.assign(s, { queued: false, deleteQueued: false, blocked: false });
      if (!s.remoteOnly || (await this.localCopies(s)).length) agreed(s);
    }
  }

  /** The slots of a park family with a parked outbox row. */
  async parkedSlots(): Promise<Set<Slot>> {
    const rows = await this.sides.workers[0].rows('parked');
    const ids = new Set(rows.map((r) => `${r.resource_type}/${r.resource_id}`));
    const out = new Set<Slot>();
    for (const s of this.slots.filter((x) => x.family.parks))
      for (const r of await this.localCopies(s)) if (ids.has(`${r.resourceType}/${r.id}`)) out.add(s);
    return out;
  }

  /**
   * The operator settles every parked conflict of the park families (`sync resolve` on the first
   * parked row of each resource) by the version the family keeps, then a push: until then the parked change counts as queued, so the model's
   * rules for a queued change under local-wins or remote-wins say what each side ends with.
   */
  async resolve() {
    const [sync] = this.sides.workers;
    // As an operator reads the list (queue order): one resolve per resource, on its first parked row.
    const resolved = new Set<string>();
    for (const r of await sync.rows('parked')) {
      const keep = PARKED_KEEPS.get(r.resource_type as Family['type']);
      const resource = `${r.resource_type}/${r.resource_id}`;
      if (!keep || resolved.has(resource)) continue;
      resolved.add(resource);
      await sync.resolve(r.id, keep);
    }
    await this.push();
  }

  /** What is wrong with one identifier on both sides, or undefined. */
  async judge(s: Slot): Promise<string | undefined> {
    const sides: [string, Resource[]][] = [
      ['remote', await this.remoteCopies(s)],
      ['local store', await this.localCopies(s)],
    ];
    for (const [side, found] of sides) {
      if (s.expected === undefined) {
        if (found.length) return `the ${side} keeps a ${s.family.type} deleted by the sync's model`;
        continue;
      }
      if (found.length !== 1) return `the ${side} holds ${found.length} ${s.family.type}s for one identifier`;
      if (s.family.valueOf(found[0] as Resource) !== s.expected)
        return `the ${side} holds a ${s.family.wins}-wins ${s.family.type} with another value than the model's`;
    }
    return this.dangling(s);
  }

  /** A score on either side derived from a self-assessment that side does not hold. */
  async dangling(s: Slot): Promise<string | undefined> {
    const { remote, store } = this.sides;
    for (const o of (await this.remoteCopies(s)) as Observation[])
      for (const d of o.derivedFrom ?? [])
        if ((await fetch(`${remote.url}/${d.reference}`)).status !== 200)
          return 'the remote holds a score derived from a self-assessment it does not hold';
    for (const o of (await this.localCopies(s)) as Observation[])
      for (const d of o.derivedFrom ?? []) {
        const [type, id] = (d.reference ?? '').split('/');
        if (
          !(await store.read(type as string, id as string).then(
            () => true,
            () => false,
          ))
        )
          return 'the local store holds a score derived from a self-assessment it does not hold';
      }
    return undefined;
  }
}

/** Both sides agree on a record again: the remote is no longer ahead, its copy is here. */
const agreed = (s: Slot) => Object.assign(s, { remoteAhead: false, remoteOnly: undefined });

export const syncModel: Target = {
  name: 'sync-model',
  what: 'local and remote edits, deletes and re-creates, links between records, consent withdrawn and given again, with pushes (two workers, faults) and pulls between them leave both sides holding what the documented policies say',
  async open() {
    const sides = await openSides();
    const [sync] = sides.workers;
    return {
      seeds: [null],
      input: (_mutated, rng) => operations(rng),
      async check(input) {
        const model = new Model(
          sides,
          CLIENTS.flatMap((_, client) =>
            FAMILIES.map((family) => ({
              family,
              client,
              identifier: `urn:uuid:${randomUUID()}`,
              queued: false,
              remoteAhead: false,
              deleteQueued: false,
              blocked: false,
            })),
          ),
        );
        const consents = CLIENTS.map((_, client): Op => ({ kind: 'consent', client }));
        const ops = [
          ...(input as Op[]),
          ...consents,
          { kind: 'push' },
          { kind: 'pull' },
          { kind: 'resolve' },
          { kind: 'push' },
        ] as Op[];
        return judgeCase(
          sync,
          ops,
          (op) => model.apply(op),
          model.slots,
          (s) => model.judge(s),
        );
      },
      close: async () => {
        await Promise.all(sides.workers.map((w) => w.stop()));
        await sides.proxy.close();
        await sides.store.close();
        await sides.remote.stop();
      },
    };
  },
};
