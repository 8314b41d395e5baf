/**
 * The Kanta PHR sync adapter (`--remote-kind kanta-phr`): self-assessment responses the client wrote go
 * to Kanta PHR as fiphr QuestionnaireResponses of the client's pseudonymous PHR Patient; citizen-filled
 * responses come back. Everything else is settled not applicable and synced to no remote (a store has
 * one). See docs/kanta.md.
 */
import type { PullResult, SyncContext } from './ports.ts';
import type { PushRoundResult } from './ports.ts';
import { kantaPullOnce } from './pull.ts';
import { kantaPushRound } from './push.ts';
import { KANTA_SCHEMA } from './schema.ts';
import type { KantaDeps, KantaOptions } from './types.ts';

export { type KantaStatus, kantaStatus } from './status.ts';
export { phrPatientResource } from './patients.ts';
export type { KantaDeps, KantaOptions } from './types.ts';

/** The adapter as the sync service drives it: one push round, one pull pass, over a sync context. */
export interface RemoteAdapter {
  readonly kind: string;
  migrate(store: KantaDeps['store']): Promise<void>;
  /** Takes the whole sync context: the round keeps its lease as the FHIR-store push's does (keepLease). */
  pushRound(ctx: SyncContext, signal?: AbortSignal): Promise<PushRoundResult>;
  pullOnce(ctx: KantaDeps, signal?: AbortSignal): Promise<PullResult>;
}

export function createKantaAdapter(opts: KantaOptions): RemoteAdapter {
  let migrated: Promise<void> | undefined;
  const migrate = (store: KantaDeps['store']) => {
    migrated ??= (async () => {
      for (const [name, statements] of KANTA_SCHEMA) await store.migrate(name, statements);
    })();
    return migrated;
  };
  return {
    kind: 'kanta-phr',
    migrate,
    async pushRound(ctx, signal) {
      await migrate(ctx.store);
      return kantaPushRound(ctx, opts, signal);
    },
    async pullOnce(ctx, signal) {
      await migrate(ctx.store);
      return kantaPullOnce(ctx, opts, signal);
    },
  };
}
