/**
 * A target that checks the sync's push against a model: a random sequence of local writes to a
 * consenting client's work-ability scores on two business identifiers — creates, updates, deletes and
 * re-creates after a delete — with pushes at random points between them. After the last push the
 * remote must hold, per identifier, exactly what the local store holds: one live resource with the
 * local content, or none once the local one is deleted; and the outbox must be settled, nothing dead,
 * held, parked or blocked.
 */
import { randomUUID } from 'node:crypto';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { openStore } from '../../src/store/index.ts';
import { createSync } from '../../src/sync/index.ts';
import { startFacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteAll, score } from '../sync/helpers/fixtures.ts';
import { drain } from '../sync/helpers/waits.ts';
import { type Rng, pick } from './mutate.ts';
import type { Target } from './target.ts';

const SYSTEM = 'urn:ietf:rfc:3986';

type Op =
  | { kind: 'create' | 'update'; slot: number; value: number }
  | { kind: 'delete'; slot: number }
  | { kind: 'push' };

function operations(rng: Rng): Op[] {
  return Array.from({ length: 3 + Math.floor(rng() * 10) }, (): Op => {
    const kind = pick(rng, ['create', 'create', 'update', 'update', 'delete', 'push'] as const);
    const slot = Math.floor(rng() * 2);
    if (kind === 'push') return { kind };
    if (kind === 'delete') return { kind, slot };
    return { kind, slot, value: Math.floor(rng() * 11) };
  });
}

/** One identifier: the local resource holding it now (if any) and its value. */
interface Slot {
  identifier: string;
  id?: string;
  value?: number;
}

export const syncModel: Target = {
  name: 'sync-model',
  what: 'local creates, updates, deletes and re-creates with pushes between them leave the remote holding what the local store holds',
  async open() {
    const remote = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
    const store = await openStore({ dataDir: 'memory://' });
    const sync = createSync({ store, remote: { baseUrl: remote.url, party: 'other-health-care' } });
    await sync.ready;
    const client = (await store.create(patient('241181-9242'))).resource as Patient;
    await store.create(consent(client.id as string));
    await drain(sync);

    const apply = async (op: Op, slots: Slot[]) => {
      if (op.kind === 'push') return drain(sync);
      const s = slots[op.slot] as Slot;
      if (op.kind === 'delete') {
        if (s.id) await store.delete('Observation', s.id);
        s.id = undefined;
        s.value = undefined;
        return;
      }
      if (op.kind === 'update' && s.id) {
        const now = await store.read<Observation>('Observation', s.id);
        await store.update({ ...now, valueInteger: op.value }, { ifMatchOptional: true });
      } else if (op.kind === 'create' && !s.id) {
        const fresh = {
          ...score(client.id as string, op.value),
          identifier: [{ system: SYSTEM, value: s.identifier }],
        };
        s.id = (await store.create(fresh)).resource.id;
      } else return;
      s.value = op.value;
    };

    return {
      seeds: [null],
      input: (_mutated, rng) => operations(rng),
      async check(input) {
        const slots: Slot[] = [0, 1].map(() => ({ identifier: `urn:uuid:${randomUUID()}` }));
        // Counted against the states before this case: an earlier case's dead letter is not this one's.
        const before = (await sync.status()).states;
        for (const op of input as Op[]) await apply(op, slots);
        await drain(sync);
        const { states } = await sync.status();
        const left = Object.entries(states).filter(
          ([state, n]) => state !== 'done' && n > before[state as keyof typeof before],
        );
        if (left.length) return `rows left ${left.map(([state]) => state).join(', ')}`;
        for (const s of slots) {
          const there = (await remoteAll(
            remote.url,
            'Observation',
            `identifier=${encodeURIComponent(`${SYSTEM}|${s.identifier}`)}`,
          )) as Observation[];
          if (s.id === undefined && there.length) return 'the remote keeps a resource deleted here';
          if (s.id !== undefined && there.length !== 1)
            return `the remote holds ${there.length} resources for one identifier`;
          if (s.id !== undefined && there[0]?.valueInteger !== s.value)
            return 'the remote holds another version than the local one';
        }
        return undefined;
      },
      close: async () => {
        await sync.stop();
        await store.close();
        await remote.stop();
      },
    };
  },
};
