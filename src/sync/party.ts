/**
 * One receiving party per store, also across restarts: what the store sent was judged by that party's
 * consents, to that party's server. Syncing it as another party would hand the remote data the client
 * permitted only to someone else; sync-config-3 refuses it. The party is bound by what was sent: the
 * first write that leaves for the remote records it (`sync_state` key `party`), and every later write
 * leaves only under it — so a store that has sent nothing (a push as the wrong party, everything
 * blocked by consent) may still sync as another, and two processes starting on such a store as two
 * parties cannot both send. The same holds for the remote (service.ts `sameRemote`): a store is held
 * to it only by what its id map holds.
 */
import { FhirError, issue } from '../shared/outcome.ts';
import type { SyncContext } from './context.ts';
import { bindOnce, judgeFor, stateOf } from './repository.ts';

type PartyContext = Pick<SyncContext, 'store' | 'party' | 'log'>;

/** sync-config-3: the store syncs as party `bound`, and was asked to sync as `party`. */
export class OtherParty extends FhirError {
  constructor(bound: string, party: string) {
    super(
      409,
      issue(
        'error',
        'conflict',
        `sync-config-3: this store syncs as party ${bound} (what it sent was judged by that party's consents), not as ${party}; use a fresh store for another party`,
      ),
    );
    this.name = 'OtherParty';
  }
}

/**
 * Before a push or pull: refused when the store has sent as another party. The rows the consent gate
 * held back for another party (the store sent nothing as it) go back to the queue to be judged again.
 */
export async function checkParty(ctx: PartyContext): Promise<void> {
  const bound = await stateOf(ctx.store, 'party');
  if (bound !== undefined && bound !== ctx.party) throw new OtherParty(bound, ctx.party);
  const again = await judgeFor(ctx.store, ctx.party);
  if (again) ctx.log.info({ rows: again, party: ctx.party }, 'sync: rows held back by consent judged again');
}

/** Per service context: its party bound and checked (once it is, it stays so). */
const sendingAs = new WeakMap<PartyContext, Promise<void>>();

/**
 * Right before a write leaves for the remote: the store's party is recorded (by the first) and must
 * be this service's; sync-config-3 otherwise, nothing sent.
 */
export function sendAs(ctx: PartyContext): Promise<void> {
  let bound = sendingAs.get(ctx);
  if (!bound) {
    bound = bindOnce(ctx.store, 'party', ctx.party).then((b) => {
      if (b !== ctx.party) throw new OtherParty(b, ctx.party);
    });
    // A failure (another party, the database) is asked again by the next write.
    bound.catch(() => sendingAs.delete(ctx));
    sendingAs.set(ctx, bound);
  }
  return bound;
}
