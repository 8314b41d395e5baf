/**
 * A tyokyky facade in the test's own process, as `tyokyky serve` starts one (startServer with the
 * project validator, auth off, 127.0.0.1, an OS-chosen port), for tests where the facade is the other
 * side — a sync remote, a Kanta PHR sandbox, a reader of the local audit log — and not what is tested.
 * No process start, and in the unit project the server and validator modules are already loaded.
 * The facade as a process (signals, exit codes, workers, what `serve` makes of its flags) stays in
 * tests/helpers/processes.ts.
 */
import pino from 'pino';
import { startServer } from '../../src/server/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';

export interface FacadeHere {
  /** FHIR base URL, e.g. http://127.0.0.1:40123/fhir */
  url: string;
  /** Stops listening (in-flight requests finish) and closes the store it opened. */
  stop(): Promise<void>;
}

export interface FacadeHereOptions {
  /** `--no-strict`: accept resources of our families without one of our profiles (default strict, as serve). */
  strict?: boolean;
  /** `--mode kanta-phr`: the local Kanta PHR sandbox. */
  mode?: 'fhir' | 'kanta-phr';
  /** `--auth embedded`: the embedded authorization server, bearer tokens required. */
  auth?: 'embedded';
  /** Requests per minute per client before a 429 (the facade's default otherwise). */
  rateLimit?: number;
}

/**
 * Starts a facade on the PostgreSQL database `database` (a URL made with `freshDatabase`) or on a
 * PGlite data directory (`{ dataDir }`, which no other store may hold open meanwhile).
 */
export async function startFacadeHere(
  database: string | { dataDir: string },
  options: FacadeHereOptions = {},
): Promise<FacadeHere> {
  const running = await startServer({
    ...(typeof database === 'string' ? { databaseUrl: database } : database),
    ...(options.auth ? { auth: { mode: options.auth } } : {}),
    validator: await loadProjectValidator(),
    strict: options.strict ?? true,
    mode: options.mode ?? 'fhir',
    logger: pino({ level: 'silent' }),
    shutdownGraceMs: 1_000,
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
  });
  return { url: `${running.url}/fhir`, stop: () => running.close() };
}
