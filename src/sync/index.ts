export type { BundleMode, ConflictPolicy, FamilyRule, OAuthConfig, RemoteConfig } from './config.ts';
export { DEFAULT_FAMILIES, DEFAULT_PULL_TYPES } from './config.ts';
export { patientReferenceOf } from '../shared/references.ts';
export type { DisclosureDecision, DisclosureRule } from './consent-gate.ts';
export {
  type ClientDisclosure,
  IDENTITY_CLASS,
  clientDisclosure,
  sdkDisclosureRule,
} from './consent-gate.ts';
export type { BackfillStatus } from './backfill.ts';
export type { SyncStore } from './context.ts';
export type { ListedRow, OutboxRow, OutboxState, ResolveChoice, Resolved } from './repository.ts';
export {
  type ConflictRow,
  LISTED_STATES,
  LIST_DEFAULT,
  type ListedState,
  checkListLimit,
  checkListedState,
  checkOutboxId,
  checkResolveChoice,
} from './repository.ts';
export { clientAssertion } from './oauth.ts';
export type { RefusedAgainResult } from './pull-refused.ts';
export type { PullResult } from './pull.ts';
export type { PushRoundResult } from './push/state.ts';
export { RemoteClient, type SearchPage } from './remote-client.ts';
export { RemoteHttpError, TokenError, describeIssue, isTransient, shownOutcome } from './resilience.ts';
export type { CreateSyncOptions, SyncService, SyncableStore } from './service.ts';
export { createSync } from './service.ts';
export type { SyncStatus } from './status.ts';
export { type RemoteSettings, checkSigningKey, readPrivateJwk, remoteConfigFrom } from './settings.ts';
export {
  type KantaOptions,
  type KantaStatus,
  type RemoteAdapter,
  createKantaAdapter,
  kantaStatus,
} from './kanta/index.ts';
