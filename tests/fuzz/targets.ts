import type { Target } from './target.ts';
/** Every fuzz target, in the order `npm run fuzz` runs them (target.ts says what a target is). */
import { facadeAuth } from './targets-auth.ts';
import {
  facadeApi,
  facadeSearch,
  facadeUpdate,
  facadeValidate,
  facadeWrite,
  kantaWrite,
} from './targets-facade.ts';
import { sdkFromFhir, sdkToFhir, validator, validatorPrivacy } from './targets-in-process.ts';
import { kantaSyncModel } from './targets-kanta-sync.ts';
import { facadeModel, kantaModel } from './targets-model.ts';
import { facadeParty } from './targets-party.ts';
import { syncModel } from './targets-sync-model.ts';
import { syncPull, syncPush, syncPushBundle } from './targets-sync.ts';

export type { Target } from './target.ts';

export const TARGETS: readonly Target[] = [
  validator,
  validatorPrivacy,
  sdkFromFhir,
  sdkToFhir,
  facadeWrite,
  facadeValidate,
  facadeSearch,
  facadeApi,
  facadeUpdate,
  facadeModel,
  kantaWrite,
  kantaModel,
  facadeAuth,
  facadeParty,
  syncPull,
  syncPush,
  syncPushBundle,
  syncModel,
  kantaSyncModel,
];
