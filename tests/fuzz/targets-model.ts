/**
 * Targets that check the facade's write semantics against a model: a random sequence of creates
 * (conditional, and in Kanta PHR mode plain ones, one resource per identifier), versioned updates
 * (right, stale and missing If-Match), conditional updates, deletes and revivals on two business
 * identifiers — sent directly or as the one entry of a transaction or a batch — each followed by what a
 * reader sees: the read, every version by vread, the instance history and a search by identifier. A
 * case is one sequence on identifiers of its own; the first place where the facade and the model part
 * is the finding. The rules: docs/server.md (*Writes*) and docs/kanta.md (*Writes*, *Bundles*).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { type Rng, pick } from './mutate.ts';
import { ROOT, type Target } from './target.ts';
import { PHR_PATIENT, facade, storedPersonas } from './targets-facade.ts';

const SYSTEM = 'urn:ietf:rfc:3986';

/** What the model holds for one identifier: its resource's id, and each version (undefined: a deletion). */
interface Slot {
  identifier: string;
  id?: string;
  versions: Array<number | undefined>;
}

type IfMatch = 'current' | 'stale' | 'none';
type Via = 'direct' | 'transaction' | 'batch';
type Op = { via: Via; slot: number } & (
  | { kind: 'create' | 'plain-create'; value: number }
  | { kind: 'update' | 'upsert'; value: number; ifMatch: IfMatch }
  | { kind: 'delete'; ifMatch: IfMatch }
);

/** What differs between our profiles' facade and Kanta PHR mode. */
interface Dialect {
  type: string;
  vias: readonly Via[];
  kinds: ReadonlyArray<Op['kind']>;
  /** The resource holding `value` (in an element a change of which breaks no rule). */
  body(template: Resource, value: number): Resource;
  valueOf(r: Resource | undefined): number | undefined;
  /** A search by identifier (with what the server makes mandatory). */
  search(identifier: string, template: Resource): string;
  /** Whether the instance history can be read. */
  history: boolean;
  /** Whether a PUT naming the deletion's version brings a deleted resource back. */
  revives: boolean;
}

const current = (s: Slot) => s.versions.length;
const alive = (s: Slot) => s.id !== undefined && s.versions.at(-1) !== undefined;
const etag = (s: Slot, m: IfMatch) =>
  m === 'none' ? undefined : `W/"${current(s) + (m === 'stale' ? 1 : 0)}"`;

function operations(rng: Rng, d: Dialect): Op[] {
  return Array.from({ length: 4 + Math.floor(rng() * 10) }, (): Op => {
    const base = { via: pick(rng, d.vias), slot: Math.floor(rng() * 2) };
    const kind = pick(rng, d.kinds);
    const value = Math.floor(rng() * 4);
    const ifMatch = pick(rng, ['current', 'current', 'stale', 'none'] as const);
    if (kind === 'update' || kind === 'upsert') return { ...base, kind, value, ifMatch };
    if (kind === 'delete') return { ...base, kind, ifMatch: rng() < 0.7 ? 'none' : ifMatch };
    return { ...base, kind, value };
  });
}

interface Answer {
  status: number;
  body: Resource | undefined;
}

/** The facade's answers next to the model's expectations, one sequence. */
class Run {
  /** How the current operation's write is sent. */
  private via: Via = 'direct';

  constructor(
    private readonly base: string,
    private readonly d: Dialect,
    private readonly template: Resource,
    readonly slots: Slot[],
  ) {}

  private async call(path: string, init: RequestInit = {}): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, {
      ...init,
      headers: { 'content-type': 'application/fhir+json', ...(init.headers as Record<string, string>) },
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Resource) : undefined };
  }

  /**
   * A write, sent as it is or as the one entry of a transaction or a batch, answered as the direct
   * request would be: the entry's status and resource, or the transaction's refusal.
   */
  private async write(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    opts: { ifMatch?: string; ifNoneExist?: string; resource?: Resource },
  ): Promise<Answer> {
    if (this.via === 'direct')
      return this.call(path, {
        method,
        headers: {
          ...(opts.ifMatch ? { 'if-match': opts.ifMatch } : {}),
          ...(opts.ifNoneExist ? { 'if-none-exist': opts.ifNoneExist } : {}),
        },
        ...(opts.resource ? { body: JSON.stringify(opts.resource) } : {}),
      });
    const request = { method, url: path.slice(1), ifMatch: opts.ifMatch, ifNoneExist: opts.ifNoneExist };
    const a = await this.call('', {
      method: 'POST',
      headers: { prefer: 'return=representation' },
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: this.via,
        entry: [{ resource: opts.resource, request: JSON.parse(JSON.stringify(request)) }],
      }),
    });
    if (a.status !== 200) return a;
    const [answer] = (a.body as Bundle).entry ?? [];
    return { status: Number.parseInt(answer?.response?.status ?? '0', 10), body: answer?.resource };
  }

  private body(s: Slot, value: number, withId: boolean): Resource {
    const { id: _id, meta, ...rest } = this.d.body(this.template, value);
    return {
      ...rest,
      meta: { profile: meta?.profile },
      ...(withId && s.id ? { id: s.id } : {}),
      identifier: [{ system: SYSTEM, value: s.identifier }],
    } as Resource;
  }

  /** Applies `op` here and to the model; a string says where they part. */
  apply(op: Op): Promise<string | undefined> {
    const s = this.slots[op.slot] as Slot;
    this.via = op.via;
    const via = op.via === 'direct' ? '' : ` (in a ${op.via})`;
    const named = (found: string | undefined) => (found ? `${found}${via}` : undefined);
    return this.run(s, op).then(named);
  }

  private run(s: Slot, op: Op): Promise<string | undefined> {
    switch (op.kind) {
      case 'create':
      case 'plain-create':
        return this.create(s, op.value, op.kind === 'plain-create');
      case 'upsert':
        return this.upsert(s, op.value, op.ifMatch);
      case 'update':
        return s.id ? this.update(s, op.value, op.ifMatch) : Promise.resolve(undefined);
      case 'delete':
        return s.id ? this.remove(s, op.ifMatch) : Promise.resolve(undefined);
    }
  }

  /** A new resource for the slot (or, where one is alive, the answer a second one gets). */
  private created(s: Slot, a: Answer, value: number, what: string): string | undefined {
    if (a.status !== 201) return `${what} of a new or deleted identifier: ${a.status}, expected 201`;
    if (s.id && a.body?.id === s.id) return `${what} after a delete reused the deleted id`;
    s.id = a.body?.id;
    s.versions = [value];
    return undefined;
  }

  private async create(s: Slot, value: number, plain: boolean): Promise<string | undefined> {
    const a = await this.write('POST', `/${this.d.type}`, {
      ...(plain ? {} : { ifNoneExist: `identifier=${SYSTEM}|${s.identifier}` }),
      resource: this.body(s, value, false),
    });
    const what = plain ? 'a plain create' : 'a conditional create';
    if (!alive(s)) return this.created(s, a, value, what);
    // Kanta PHR keeps one resource per identifier: a plain create of a live one is 409.
    if (plain)
      return a.status === 409 ? undefined : `${what} of a live identifier: ${a.status}, expected 409`;
    if (a.status !== 200) return `${what} of a live identifier: ${a.status}, expected 200`;
    return a.body?.id === s.id ? undefined : `${what} of a live identifier answered another resource`;
  }

  /** The answer to a versioned write of a live resource (`value` its new content), judged. */
  private updated(s: Slot, a: Answer, value: number, ifMatch: IfMatch, what: string): string | undefined {
    if (ifMatch === 'none') return a.status === 428 ? undefined : `${what}: ${a.status}, expected 428`;
    if (ifMatch === 'stale') return a.status === 412 ? undefined : `${what}: ${a.status}, expected 412`;
    if (a.status !== 200 && a.status !== 201) return `${what}: ${a.status}, expected 200 or 201`;
    if (a.body && a.body.id !== s.id) return `${what} answered another resource`;
    // Content equal to the current version's writes nothing.
    if (s.versions.at(-1) !== value) s.versions.push(value);
    return undefined;
  }

  /**
   * A conditional update by identifier: an update of the live resource holding it (as a PUT to its id),
   * else a create (201, a new id: a deleted resource is not revived this way).
   */
  private async upsert(s: Slot, value: number, ifMatch: IfMatch): Promise<string | undefined> {
    const live = alive(s);
    const a = await this.write(
      'PUT',
      `/${this.d.type}?identifier=${encodeURIComponent(`${SYSTEM}|${s.identifier}`)}`,
      {
        ifMatch: live ? etag(s, ifMatch) : undefined,
        resource: this.body(s, value, false),
      },
    );
    if (!live) return this.created(s, a, value, 'a conditional update');
    return this.updated(s, a, value, ifMatch, `a conditional update with ${ifMatch} If-Match`);
  }

  /** A PUT to the id; of a deleted resource, one naming the deletion's version revives it. */
  private async update(s: Slot, value: number, ifMatch: IfMatch): Promise<string | undefined> {
    const a = await this.write('PUT', `/${this.d.type}/${s.id}`, {
      ifMatch: etag(s, ifMatch),
      resource: this.body(s, value, true),
    });
    const what = `an update${alive(s) ? '' : ' of a deleted resource'} with ${ifMatch} If-Match`;
    // Kanta PHR never creates on update: a deleted resource stays gone (410) whatever If-Match names.
    if (!alive(s) && !this.d.revives && ifMatch !== 'none')
      return a.status === 410 ? undefined : `${what}: ${a.status}, expected 410`;
    return this.updated(s, a, value, ifMatch, what);
  }

  private async remove(s: Slot, ifMatch: IfMatch): Promise<string | undefined> {
    const a = await this.write('DELETE', `/${this.d.type}/${s.id}`, { ifMatch: etag(s, ifMatch) });
    const what = `a delete${alive(s) ? '' : ' of a deleted resource'} with ${ifMatch} If-Match`;
    // `stale` names a version the resource never had: 412, deleted or not (the retry of a delete whose
    // answer was lost names the version it deleted, or the deletion itself, and is 204).
    if (ifMatch === 'stale') return a.status === 412 ? undefined : `${what}: ${a.status}, expected 412`;
    if (a.status !== 204 && a.status !== 200) return `${what}: ${a.status}, expected 204`;
    if (alive(s)) s.versions.push(undefined);
    return undefined;
  }

  /** What a reader sees of `s`: a search by identifier, the read, each version, the instance history. */
  async observe(s: Slot): Promise<string | undefined> {
    const search = await this.call(this.d.search(s.identifier, this.template));
    const found = (search.body as Bundle | undefined)?.entry?.length ?? 0;
    if (found !== (alive(s) ? 1 : 0))
      return `a search by identifier found ${found}, expected ${alive(s) ? 1 : 0}`;
    if (!s.id) return undefined;
    const read = await this.call(`/${this.d.type}/${s.id}`);
    const last = s.versions.at(-1);
    if (last === undefined) {
      if (read.status !== 410) return `a read of a deleted resource: ${read.status}, expected 410`;
    } else {
      if (read.status !== 200) return `a read: ${read.status}, expected 200`;
      if (read.body?.meta?.versionId !== String(current(s)))
        return `a read shows version ${read.body?.meta?.versionId}, expected ${current(s)}`;
      if (this.d.valueOf(read.body) !== last) return 'a read shows another version’s content';
    }
    for (let v = 1; v <= current(s); v++) {
      const vread = await this.call(`/${this.d.type}/${s.id}/_history/${v}`);
      const want = s.versions[v - 1];
      if (want === undefined) {
        if (vread.status !== 410) return `a vread of a deletion: ${vread.status}, expected 410`;
      } else if (vread.status !== 200 || this.d.valueOf(vread.body) !== want)
        return `a vread: ${vread.status}, not the version's content`;
    }
    if (!this.d.history) return undefined;
    const history = await this.call(`/${this.d.type}/${s.id}/_history`);
    const versions = ((history.body as Bundle | undefined)?.entry ?? []).length;
    return versions === current(s)
      ? undefined
      : `the instance history holds ${versions} versions, expected ${current(s)}`;
  }
}

const byIdentifier = (type: string, identifier: string) =>
  `/${type}?identifier=${encodeURIComponent(`${SYSTEM}|${identifier}`)}`;

/** Our profiles' facade: a Goal of the personas, its description holding the value. */
const OURS: Dialect = {
  type: 'Goal',
  vias: ['direct', 'direct', 'transaction', 'batch'],
  kinds: ['create', 'create', 'update', 'update', 'upsert', 'delete'],
  body: (t, value) => ({ ...t, description: { text: `Tavoite ${value}` } }) as Resource,
  valueOf: (r) =>
    Number((r as { description?: { text?: string } } | undefined)?.description?.text?.split(' ')[1]),
  search: (identifier) => byIdentifier('Goal', identifier),
  history: true,
  revives: true,
};

/**
 * Kanta PHR mode: one of Kanta's body-weight examples, its weight holding the value; batch Bundles
 * only, no conditional update, plain creates kept to one per identifier, search needs `patient`, no
 * instance history.
 */
const KANTA: Dialect = {
  type: 'Observation',
  vias: ['direct', 'direct', 'batch'],
  kinds: ['create', 'plain-create', 'update', 'update', 'delete'],
  body: (t, value) =>
    ({
      ...t,
      valueQuantity: { ...(t as { valueQuantity?: object }).valueQuantity, value: 60 + value },
    }) as Resource,
  valueOf: (r) => {
    const kg = (r as { valueQuantity?: { value?: number } } | undefined)?.valueQuantity?.value;
    return kg === undefined ? undefined : kg - 60;
  },
  search: (identifier, t) =>
    `${byIdentifier('Observation', identifier)}&patient=${encodeURIComponent((t as { subject?: { reference?: string } }).subject?.reference ?? '')}`,
  history: false,
  revives: false,
};

/** Kanta's body-weight example, for a Kanta PHR citizen (pseudonymous, as Kanta holds them) stored here. */
async function kantaTemplate(base: string): Promise<Resource> {
  const res = await fetch(`${base}/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(PHR_PATIENT),
  });
  const stored = (await res.json()) as Resource;
  if (res.status !== 201) throw new Error(`Kanta PHR patient: ${res.status} ${JSON.stringify(stored)}`);
  const weight = readFileSync(
    join(ROOT, 'profiles/kanta-phr/package/example/Observation-bodyweight-min.json'),
    'utf8',
  );
  return JSON.parse(weight.replace(/"Patient\/[^"]+"/g, `"Patient/${stored.id}"`)) as Resource;
}

function modelTarget(name: string, what: string, mode: 'fhir' | 'kanta-phr'): Target {
  const d = mode === 'fhir' ? OURS : KANTA;
  return {
    name,
    what,
    async open() {
      const server = await facade(mode);
      const template =
        mode === 'fhir'
          ? ((await storedPersonas(server.base)).find((r) => r.resourceType === 'Goal') as Resource)
          : await kantaTemplate(server.base);
      return {
        seeds: [null],
        input: (_mutated, rng) => operations(rng, d),
        async check(input) {
          const slots: Slot[] = [0, 1].map(() => ({ identifier: `urn:uuid:${randomUUID()}`, versions: [] }));
          const run = new Run(server.base, d, template, slots);
          for (const op of input as Op[]) {
            const parted = (await run.apply(op)) ?? (await run.observe(slots[op.slot] as Slot));
            if (parted) return parted;
          }
          return undefined;
        },
        close: () => server.close(),
      };
    },
  };
}

export const facadeModel = modelTarget(
  'facade-model',
  'conditional creates, versioned and conditional updates, deletes and revivals (direct, in a transaction or a batch) behave as docs/server.md says, seen by read, vread, history and search',
  'fhir',
);

export const kantaModel = modelTarget(
  'kanta-model',
  'Kanta PHR mode: creates (one resource per identifier), versioned updates and deletes (direct or in a batch) behave as docs/kanta.md says, seen by read, vread and search',
  'kanta-phr',
);
