export { type AppOptions, createApp } from './app.ts';
export { DEFAULT_LIMITS, type Limits } from './http/limits.ts';
export { FHIR_ROUTES } from './fhir/routes.ts';
export type { FacadeStore, FacadeSync, FacadeValidator } from './ports.ts';
export {
  assertExposureAllowed,
  assertPortFree,
  type RunningServer,
  type StartOptions,
  startServer,
} from './start.ts';
export { superviseWorkers, workerIndex } from './workers.ts';
export { defaultLogger } from './ops.ts';
export {
  type AuthConfig,
  createSecurity,
  type Security,
  addClient,
  checkClient,
  checkTrustedProxies,
  listClients,
  removeClient,
  type RegisteredClient,
  SECURITY_MIGRATION,
  SECURITY_STATEMENTS,
} from './security/index.ts';
