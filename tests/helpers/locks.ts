// Helpers for tests that force one interleaving of two writers: a transaction held open on a gate,
// and a check that the other call is still waiting for the lock it holds.

/** A promise to hold a store transaction open, and its release. */
export function gate(): { wait: Promise<void>; open(): void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** Whether `p` is still pending after `ms` (a call waiting for a lock). */
export async function stillPending(p: PromiseLike<unknown>, ms = 300): Promise<boolean> {
  const pending = Symbol('pending');
  const first = await Promise.race([
    Promise.resolve(p).then(() => 'settled'),
    new Promise((r) => setTimeout(() => r(pending), ms)),
  ]);
  return first === pending;
}
