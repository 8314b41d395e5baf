/**
 * A target that checks the facade's write semantics against a model (docs/server.md, *Writes*): a
 * random sequence of conditional creates, versioned updates (right, stale and missing If-Match),
 * deletes and revivals on a few business identifiers, each followed by what a reader would see — the
 * read, every version by vread, the instance history and a search by identifier. A case is one
 * sequence on identifiers of its own; the first place where the facade and the model part is the
 * finding.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Goal, Resource } from '@medplum/fhirtypes';
import { type Rng, pick } from './mutate.ts';
import type { Target } from './target.ts';
import { facade, storedPersonas } from './targets-facade.ts';

const SYSTEM = 'urn:ietf:rfc:3986';

/** What the model holds for one identifier: its resource's id, and each version (undefined: a deletion). */
interface Slot {
  identifier: string;
  id?: string;
  versions: Array<number | undefined>;
}

type Via = { via: 'direct' | 'transaction' | 'batch' };
type Op = Via &
  (
    | { kind: 'create'; slot: number; value: number }
    | { kind: 'update'; slot: number; value: number; ifMatch: 'current' | 'stale' | 'none' }
    | { kind: 'upsert'; slot: number; value: number; ifMatch: 'current' | 'stale' | 'none' }
    | { kind: 'delete'; slot: number; ifMatch?: 'current' | 'stale' }
  );

const current = (s: Slot) => s.versions.length;
const alive = (s: Slot) => s.id !== undefined && s.versions.at(-1) !== undefined;

function operations(rng: Rng, slots: number): Op[] {
  return Array.from({ length: 4 + Math.floor(rng() * 10) }, (): Op => {
    const slot = Math.floor(rng() * slots);
    const via = pick(rng, ['direct', 'direct', 'transaction', 'batch'] as const);
    const value = Math.floor(rng() * 4);
    const kind = pick(rng, ['create', 'create', 'update', 'update', 'upsert', 'delete'] as const);
    if (kind === 'update' || kind === 'upsert')
      return { via, kind, slot, value, ifMatch: pick(rng, ['current', 'current', 'stale', 'none'] as const) };
    if (kind === 'delete')
      return {
        via,
        kind,
        slot,
        ...(rng() < 0.3 ? { ifMatch: pick(rng, ['current', 'stale'] as const) } : {}),
      };
    return { via, kind, slot, value };
  });
}

interface Answer {
  status: number;
  body: Resource | undefined;
}

/** The facade's answers, and the model's expectations for one operation. */
class Run {
  /** How this operation's write is sent (set per operation). */
  how: 'direct' | 'transaction' | 'batch' = 'direct';

  constructor(
    private readonly base: string,
    private readonly template: Goal,
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
   * A write, sent as it is or as the one entry of a transaction or a batch (`how`), answered as the
   * direct request would be: an entry's status and resource, or the transaction's refusal.
   */
  private async write(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    opts: { ifMatch?: string; ifNoneExist?: string; resource?: Resource },
  ): Promise<Answer> {
    if (this.how === 'direct')
      return this.call(path, {
        method,
        headers: {
          ...(opts.ifMatch ? { 'if-match': opts.ifMatch } : {}),
          ...(opts.ifNoneExist ? { 'if-none-exist': opts.ifNoneExist } : {}),
        },
        ...(opts.resource ? { body: JSON.stringify(opts.resource) } : {}),
      });
    const entry = {
      ...(opts.resource ? { resource: opts.resource } : {}),
      request: {
        method,
        url: path.slice(1),
        ...(opts.ifMatch ? { ifMatch: opts.ifMatch } : {}),
        ...(opts.ifNoneExist ? { ifNoneExist: opts.ifNoneExist } : {}),
      },
    };
    const a = await this.call('', {
      method: 'POST',
      headers: { prefer: 'return=representation' },
      body: JSON.stringify({ resourceType: 'Bundle', type: this.how, entry: [entry] }),
    });
    if (a.status !== 200) return a;
    const [answer] = (a.body as Bundle).entry ?? [];
    return { status: Number.parseInt(answer?.response?.status ?? '0', 10), body: answer?.resource };
  }

  private body(s: Slot, value: number): Goal {
    const { id: _id, meta, ...rest } = this.template;
    return {
      ...rest,
      meta: { profile: meta?.profile },
      ...(s.id ? { id: s.id } : {}),
      identifier: [{ system: SYSTEM, value: s.identifier }],
      description: { text: `Tavoite ${value}` },
    };
  }

  /** Applies `op` here and to the model; a string says where they part. */
  async apply(op: Op): Promise<string | undefined> {
    const s = this.slots[op.slot] as Slot;
    this.how = op.via;
    if (op.kind === 'create') return this.create(s, op.value);
    if (op.kind === 'upsert') return this.upsert(s, op.value, op.ifMatch);
    if (!s.id) return undefined; // nothing to update or delete yet
    if (op.kind === 'update') return this.update(s, op.value, op.ifMatch);
    return this.remove(s, op.ifMatch);
  }

  private async create(s: Slot, value: number): Promise<string | undefined> {
    const fresh = { ...s, id: undefined };
    const a = await this.write('POST', '/Goal', {
      ifNoneExist: `identifier=${SYSTEM}|${s.identifier}`,
      resource: this.body(fresh, value),
    });
    if (alive(s)) {
      if (a.status !== 200) return `conditional create of a live identifier: ${a.status}, expected 200`;
      if (a.body?.id !== s.id) return 'conditional create of a live identifier answered another resource';
      return undefined;
    }
    if (a.status !== 201)
      return `conditional create of a new or deleted identifier: ${a.status}, expected 201`;
    if (s.id && a.body?.id === s.id) return 'a conditional create after a delete reused the deleted id';
    s.id = a.body?.id;
    s.versions = [value];
    return undefined;
  }

  /**
   * A conditional update by identifier: an update of the live resource holding it (as a PUT to its id),
   * else a create (201, a new id: a deleted resource is not revived this way).
   */
  private async upsert(s: Slot, value: number, ifMatch: 'current' | 'stale' | 'none') {
    const version = current(s);
    const live = alive(s);
    const a = await this.call(`/Goal?identifier=${encodeURIComponent(`${SYSTEM}|${s.identifier}`)}`, {
      method: 'PUT',
      headers:
        ifMatch === 'none' || !live
          ? {}
          : { 'if-match': `W/"${ifMatch === 'current' ? version : version + 1}"` },
      body: JSON.stringify(this.body({ ...s, id: undefined }, value)),
    });
    if (!live) {
      if (a.status !== 201)
        return `a conditional update of a new or deleted identifier: ${a.status}, expected 201`;
      if (s.id && a.body?.id === s.id) return 'a conditional update after a delete reused the deleted id';
      s.id = a.body?.id;
      s.versions = [value];
      return undefined;
    }
    const what = `a conditional update with ${ifMatch} If-Match`;
    if (ifMatch === 'none') return a.status === 428 ? undefined : `${what}: ${a.status}, expected 428`;
    if (ifMatch === 'stale') return a.status === 412 ? undefined : `${what}: ${a.status}, expected 412`;
    if (a.status !== 200) return `${what}: ${a.status}, expected 200`;
    if (a.body?.id !== s.id) return `${what} answered another resource`;
    if (s.versions.at(-1) !== value) s.versions.push(value);
    return undefined;
  }

  private async update(s: Slot, value: number, ifMatch: 'current' | 'stale' | 'none') {
    const version = current(s);
    const a = await this.call(`/Goal/${s.id}`, {
      method: 'PUT',
      headers:
        ifMatch === 'none' ? {} : { 'if-match': `W/"${ifMatch === 'current' ? version : version + 1}"` },
      body: JSON.stringify(this.body(s, value)),
    });
    const what = `an update${alive(s) ? '' : ' of a deleted resource'} with ${ifMatch} If-Match`;
    if (ifMatch === 'none') return a.status === 428 ? undefined : `${what}: ${a.status}, expected 428`;
    if (ifMatch === 'stale') return a.status === 412 ? undefined : `${what}: ${a.status}, expected 412`;
    if (a.status !== 200 && a.status !== 201) return `${what}: ${a.status}, expected 200 or 201`;
    // Content equal to the current version's writes nothing.
    if (s.versions.at(-1) !== value) s.versions.push(value);
    return undefined;
  }

  private async remove(s: Slot, ifMatch?: 'current' | 'stale') {
    const version = current(s);
    const a = await this.write('DELETE', `/Goal/${s.id}`, {
      ...(ifMatch ? { ifMatch: `W/"${ifMatch === 'current' ? version : version + 1}"` } : {}),
    });
    const what = `a delete${alive(s) ? '' : ' of a deleted resource'}${ifMatch ? ` with ${ifMatch} If-Match` : ''}`;
    if (ifMatch === 'stale' && alive(s))
      return a.status === 412 ? undefined : `${what}: ${a.status}, expected 412`;
    if (a.status !== 204 && a.status !== 200) return `${what}: ${a.status}, expected 204`;
    if (alive(s)) s.versions.push(undefined);
    return undefined;
  }

  /** What a reader sees of `s`: read, each version, the instance history, a search by identifier. */
  async observe(s: Slot): Promise<string | undefined> {
    const search = await this.call(
      `/Goal?identifier=${encodeURIComponent(`${SYSTEM}|${s.identifier}`)}&_total=accurate`,
    );
    const found = (search.body as Bundle | undefined)?.total;
    if (found !== (alive(s) ? 1 : 0))
      return `a search by identifier found ${found}, expected ${alive(s) ? 1 : 0}`;
    if (!s.id) return undefined;
    const read = await this.call(`/Goal/${s.id}`);
    const last = s.versions.at(-1);
    if (last === undefined) {
      if (read.status !== 410) return `a read of a deleted resource: ${read.status}, expected 410`;
    } else {
      if (read.status !== 200) return `a read: ${read.status}, expected 200`;
      const got = read.body as Goal;
      if (got.meta?.versionId !== String(current(s)))
        return `a read shows version ${got.meta?.versionId}, expected ${current(s)}`;
      if (got.description?.text !== `Tavoite ${last}`) return 'a read shows another version’s content';
    }
    for (let v = 1; v <= current(s); v++) {
      const vread = await this.call(`/Goal/${s.id}/_history/${v}`);
      const want = s.versions[v - 1];
      if (want === undefined) {
        if (vread.status !== 410) return `a vread of a deletion: ${vread.status}, expected 410`;
      } else if (vread.status !== 200 || (vread.body as Goal).description?.text !== `Tavoite ${want}`)
        return `a vread: ${vread.status}, not the version's content`;
    }
    const history = await this.call(`/Goal/${s.id}/_history`);
    const versions = ((history.body as Bundle | undefined)?.entry ?? []).length;
    if (versions !== current(s))
      return `the instance history holds ${versions} versions, expected ${current(s)}`;
    return undefined;
  }
}

export const facadeModel: Target = {
  name: 'facade-model',
  what: 'conditional creates, versioned updates, deletes and revivals behave as docs/server.md says, seen by read, vread, history and search',
  async open() {
    const server = await facade();
    const template = (await storedPersonas(server.base)).find((r) => r.resourceType === 'Goal') as Goal;
    return {
      seeds: [null],
      input: (_mutated, rng) => operations(rng, 2),
      async check(input) {
        const slots: Slot[] = [0, 1].map(() => ({ identifier: `urn:uuid:${randomUUID()}`, versions: [] }));
        const run = new Run(server.base, template, slots);
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
