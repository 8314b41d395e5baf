// Opening the store and the sync service for a `tyokyky sync` subcommand, with the options checked.
import type { Store } from '../../store/index.ts';
import type { RemoteSettings, SyncService } from '../../sync/index.ts';
import { printReindexProgress } from '../reindex-progress.ts';
import { remoteSettings } from '../remote-options.ts';
import { missingStore } from '../store-dir.ts';

/** What every `tyokyky sync` subcommand takes: the store and the output. */
export interface SyncStoreOptions {
  databaseUrl?: string;
  dataDir: string;
  json?: boolean;
}

/** Push and pull: the remote, the store and the rounds. */
export interface SyncCliOptions extends SyncStoreOptions, RemoteSettings {
  batchSize: string;
  concurrency: string;
  lease: string;
  /** Strict mode, as `serve`'s (cli/strict-mode.ts): resolved before the action runs. */
  strict: boolean;
}

export function fail(message: string, code = 2): never {
  console.error(`tyokyky sync: ${message}`);
  process.exit(code);
}

/** A whole number in [min, max] or exit 2 naming the option and its range. */
function integerOption(name: string, raw: string, min: number, max?: number, unit = ''): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `at least ${min}${unit}` : `${min}..${max}`;
    fail(`${name} must be ${range}, got "${raw}"`);
  }
  return n;
}

export interface OpenedSync {
  store: Store;
  sync: SyncService;
  /** The remote and party this command was given (flags or environment); null where none was. */
  given: { remote: string | null; party: string | null };
}

/**
 * A service needs a remote to be built; commands that never reach one get this stand-in, which
 * nothing shows (`given` says what was configured).
 */
const UNUSED_REMOTE = 'http://remote.invalid';

/**
 * A push's or pull's `--batch-size`, `--concurrency` and `--lease`, checked (exit 2 naming the option),
 * and its strict mode.
 */
function connectSettings(opts: SyncCliOptions) {
  return {
    batchSize: integerOption('--batch-size', opts.batchSize, 1, 1000),
    pushConcurrency: integerOption('--concurrency', opts.concurrency, 1, 8),
    leaseMs: integerOption('--lease', opts.lease, 100, undefined, ' ms'),
    strict: opts.strict,
  };
}

/**
 * The store and a sync service on it. `reads`: `connect` for a push or pull (every remote setting, a
 * remote required, the rounds' options); otherwise the remote settings the command reads (none by
 * default: it only reads or requeues the outbox) and the service's defaults.
 */
export async function openSync(opts: SyncCliOptions, reads: 'connect'): Promise<OpenedSync>;
export async function openSync(
  opts: SyncStoreOptions & RemoteSettings,
  reads?: readonly (keyof RemoteSettings)[],
): Promise<OpenedSync>;
export async function openSync(
  opts: SyncStoreOptions & RemoteSettings,
  reads: 'connect' | readonly (keyof RemoteSettings)[] = [],
): Promise<OpenedSync> {
  const { checkSigningKey, remoteConfigFrom, createSync } = await import('../../sync/index.ts');
  const settings = reads === 'connect' ? remoteSettings(opts) : remoteSettings(opts, process.env, reads);
  let configured: ReturnType<typeof remoteConfigFrom>;
  try {
    configured = remoteConfigFrom(settings);
    const key = configured?.auth?.privateKey;
    if (key) await checkSigningKey(key, `--client-key: ${settings.clientKey}`);
  } catch (err) {
    fail((err as Error).message);
  }
  if (reads === 'connect' && !configured) fail('--remote <url> (or TYOKYKY_SYNC_REMOTE) is required');
  const connect = reads === 'connect' ? connectSettings(opts as SyncCliOptions) : {};
  const givenParty = configured?.party ?? settings.party ?? null;
  const remote = configured ?? { baseUrl: UNUSED_REMOTE, party: givenParty ?? 'other-health-care' };
  const missing = await missingStore(opts);
  if (missing) fail(missing);
  const { openStore } = await import('../../store/index.ts');
  let store: Store;
  try {
    store = await openStore({
      ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { dataDir: opts.dataDir }),
      onReindex: printReindexProgress,
    });
  } catch (err) {
    fail(`cannot open the store: ${(err as Error).message}`, 1);
  }
  // This process only moves outbox rows; the writers' processes own the hook.
  const sync = createSync({ store, remote, ...connect, installHook: false });
  await sync.ready;
  return { store, sync, given: { remote: configured?.baseUrl ?? null, party: givenParty } };
}

export function print(opts: { json?: boolean }, value: unknown, text: () => string): void {
  console.log(opts.json ? JSON.stringify(value, null, 2) : text());
}
