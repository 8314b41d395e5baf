// `tx.lock(keys)`: a caller's own advisory locks, held until its transaction ends, so a check and
// the write it admits are one step against another transaction taking the same key (PostgreSQL; PGlite
// runs one transaction at a time anyway). Outside a transaction the store refuses it: the lock would
// end with its own statement.
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { bothStores } from '../helpers/both-stores.ts';
import { gate, stillPending } from '../helpers/locks.ts';

const stores = bothStores('tyokyky_store_lock');

/** A transaction holding `keys` until the returned `open` is called. */
async function holding(store: Store, keys: string[]) {
  const g = gate();
  let reached = () => {};
  const locked = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const done = store.transaction(async (tx) => {
    await tx.lock(keys);
    reached();
    await g.wait;
  });
  await locked;
  return { open: g.open, done };
}

describe('tx.lock (PostgreSQL)', () => {
  it('a second transaction locking one of the keys waits until the first ends', async () => {
    const held = await holding(stores.postgres, ['client:a', 'client:b']);
    const order: string[] = [];
    const second = stores.postgres.transaction(async (tx) => {
      await tx.lock(['client:b', 'client:z']);
      order.push('second');
    });
    expect(await stillPending(second, 200)).toBe(true);
    order.push('first ends');
    held.open();
    await Promise.all([held.done, second]);
    expect(order).toEqual(['first ends', 'second']);
  });

  it('other keys do not wait; an empty list takes nothing', async () => {
    const held = await holding(stores.postgres, ['client:c']);
    try {
      await stores.postgres.transaction((tx) => tx.lock(['client:d']));
      await stores.postgres.transaction((tx) => tx.lock([]));
    } finally {
      held.open();
      await held.done;
    }
  });
});

describe.each([
  ['PGlite', () => stores.pglite],
  ['PostgreSQL', () => stores.postgres],
])('store.lock outside a transaction (%s)', (_engine, store) => {
  it('is refused; in a transaction it is taken', async () => {
    await expect(store().lock(['client:e'])).rejects.toThrow(/only inside a transaction/);
    await expect(store().transaction((tx) => tx.lock(['client:e']))).resolves.toBeUndefined();
  });
});
