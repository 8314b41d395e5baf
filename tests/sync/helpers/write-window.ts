// A store as the sync sees it, with a window opened before one of its writes: the next update of a
// type inside a sync transaction first runs a hook (a local edit on the real store, committing right
// then), so a race that needs luck otherwise happens every time. A transaction the sync marks as
// applying remote versions is marked so under the proxy too, so the outbox hook (which sees the real
// transaction) leaves its writes out as it does without the proxy.
import type { Resource } from '@medplum/fhirtypes';
import type { Store } from '../../../src/store/index.ts';
import { isPulledWrite, markPulledWrites } from '../../../src/sync/repository.ts';

export interface WriteWindow {
  store: Store;
  /** Runs once, right before the next update of `type` inside a sync transaction. */
  before(hook: () => Promise<void>): void;
  /** Whether the hook set last has run. */
  ran(): boolean;
}

export function writeWindow(real: Store, type: string): WriteWindow {
  let pending: (() => Promise<void>) | undefined;
  const inTx = (tx: Store): Store => {
    const wrapped: Store = new Proxy(tx, {
      get(t, k) {
        const pulled = () => isPulledWrite(wrapped) && markPulledWrites(t);
        if (k === 'update')
          return async (r: Resource, o: unknown) => {
            const hook = r.resourceType === type ? pending : undefined;
            if (hook) pending = undefined;
            await hook?.();
            pulled();
            return t.update(r, o as never);
          };
        const v = (t as unknown as Record<PropertyKey, unknown>)[k];
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          pulled();
          return v.apply(t, args);
        };
      },
    });
    return wrapped;
  };
  const store = new Proxy(real, {
    get(t, k) {
      if (k === 'transaction')
        return <T>(fn: (tx: Store) => Promise<T>) => t.transaction((tx) => fn(inTx(tx as Store)));
      const v = (t as unknown as Record<PropertyKey, unknown>)[k];
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return {
    store,
    before: (hook) => {
      pending = hook;
    },
    ran: () => pending === undefined,
  };
}
