// Opening the store and the sync service for a `tyokyky sync` subcommand, with the options checked.
import type { Store } from '../../store/index.ts';
import type { RemoteSettings, SyncService } from '../../sync/index.ts';
import { printReindexProgress } from '../reindex-progress.ts';
import { remoteSettings } from '../remote-options.ts';
import { missingStore } from '../store-dir.ts';

export interface SyncCliOptions extends RemoteSettings {
  databaseUrl?: string;
  dataDir: string;
  batchSize: string;
  concurrency: string;
  lease: string;
  /** Strict mode, as `serve`'s (cli/strict-mode.ts): resolved before the action runs. */
  strict: boolean;
  json?: boolean;
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

export async function openSync(opts: SyncCliOptions, needsRemote: boolean): Promise<OpenedSync> {
  const { remoteConfigFrom, createSync } = await import('../../sync/index.ts');
  let configured: ReturnType<typeof remoteConfigFrom>;
  try {
    configured = remoteConfigFrom(remoteSettings(opts));
  } catch (err) {
    fail((err as Error).message);
  }
  if (needsRemote && !configured) fail('--remote <url> (or TYOKYKY_SYNC_REMOTE) is required');
  const batchSize = integerOption('--batch-size', opts.batchSize, 1, 1000);
  const pushConcurrency = integerOption('--concurrency', opts.concurrency, 1, 8);
  const leaseMs = integerOption('--lease', opts.lease, 100, undefined, ' ms');
  const givenParty = configured?.party ?? remoteSettings(opts).party ?? null;
  const remote = configured ?? { baseUrl: UNUSED_REMOTE, party: givenParty ?? 'other-health-care' };
  const missing = missingStore(opts);
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
  const sync = createSync({
    store,
    remote,
    batchSize,
    pushConcurrency,
    leaseMs,
    strict: opts.strict,
    installHook: false,
  });
  await sync.ready;
  return { store, sync, given: { remote: configured?.baseUrl ?? null, party: givenParty } };
}

export function print(opts: { json?: boolean }, value: unknown, text: () => string): void {
  console.log(opts.json ? JSON.stringify(value, null, 2) : text());
}
