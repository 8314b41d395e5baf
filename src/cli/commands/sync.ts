import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Store } from '../../store/index.ts';
import type { RemoteSettings, SyncService } from '../../sync/index.ts';
import { addRemoteOptions, remoteSettings } from '../remote-options.ts';

interface SyncCliOptions extends RemoteSettings {
  databaseUrl?: string;
  dataDir: string;
  batchSize: string;
  concurrency: string;
  lease: string;
  json?: boolean;
}

/** Connection options shared by every `tyokyky sync` subcommand. */
function withConnection(cmd: Command, needsRemote: boolean): Command {
  // The remote's options are the same as `serve --remote`'s (src/cli/remote-options.ts).
  return addRemoteOptions(cmd, needsRemote ? '' : ' — optional here')
    .option(
      '--database-url <url>',
      'PostgreSQL connection string (env DATABASE_URL)',
      process.env.DATABASE_URL,
    )
    .option('--data-dir <dir>', 'PGlite data directory (env DATA_DIR)', process.env.DATA_DIR ?? './data')
    .option('--batch-size <n>', 'outbox rows per round', '100')
    .option('--concurrency <n>', 'push rounds in flight at once (1-8)', '2')
    .option(
      '--lease <ms>',
      'how long a claimed outbox row stays with this worker before others may take it',
      '120000',
    )
    .option('--json', 'print JSON');
}

function fail(message: string, code = 2): never {
  console.error(`tyokyky sync: ${message}`);
  process.exit(code);
}

async function open(
  opts: SyncCliOptions,
  needsRemote: boolean,
): Promise<{ store: Store; sync: SyncService }> {
  const { remoteConfigFrom } = await import('../../sync/index.ts');
  let configured: ReturnType<typeof remoteConfigFrom>;
  try {
    configured = remoteConfigFrom(remoteSettings(opts));
  } catch (err) {
    fail((err as Error).message);
  }
  if (needsRemote && !configured) fail('--remote <url> (or TYOKYKY_SYNC_REMOTE) is required');
  const batchSize = Number(opts.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000)
    fail(`--batch-size must be 1..1000, got "${opts.batchSize}"`);
  const pushConcurrency = Number(opts.concurrency);
  if (!Number.isInteger(pushConcurrency) || pushConcurrency < 1 || pushConcurrency > 8)
    fail(`--concurrency must be 1..8, got "${opts.concurrency}"`);
  const leaseMs = Number(opts.lease);
  if (!Number.isInteger(leaseMs) || leaseMs < 100)
    fail(`--lease must be at least 100 ms, got "${opts.lease}"`);
  const remote = configured ?? {
    baseUrl: 'http://remote.invalid',
    party: remoteSettings(opts).party ?? 'other-health-care',
  };
  // Reading commands must not create an empty store where there was none.
  if (!needsRemote && !opts.databaseUrl && !existsSync(join(opts.dataDir, 'PG_VERSION'))) {
    fail(`no store in ${opts.dataDir} (no PGlite database there); pass --data-dir or --database-url`);
  }
  const { openStore } = await import('../../store/index.ts');
  const { createSync } = await import('../../sync/index.ts');
  let store: Store;
  try {
    store = await openStore(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { dataDir: opts.dataDir });
  } catch (err) {
    fail(`cannot open the store: ${(err as Error).message}`, 1);
  }
  // This process only moves outbox rows; the writers' processes own the hook.
  const sync = createSync({ store, remote, batchSize, pushConcurrency, leaseMs, installHook: false });
  await sync.ready;
  return { store, sync };
}

function print(opts: SyncCliOptions, value: unknown, text: () => string): void {
  console.log(opts.json ? JSON.stringify(value, null, 2) : text());
}

export function registerSyncCommand(program: Command): void {
  const sync = program
    .command('sync')
    .description('Two-way sync with a Kanta-style FHIR store (outbox push, pull, status)');

  withConnection(sync.command('push'), true)
    .description('Deliver the outbox to the remote (until empty, or forever with --watch)')
    .option('--watch', 'keep running (a worker); stop with SIGTERM/SIGINT')
    .option('--with-pull', 'with --watch: also poll the remote for followed clients')
    .action(async (opts: SyncCliOptions & { watch?: boolean; withPull?: boolean }) => {
      const { store, sync: service } = await open(opts, true);
      if (opts.watch) {
        service.start({ push: true, pull: !!opts.withPull });
        console.error(`tyokyky sync: worker pushing to ${service.remote.baseUrl}`);
        const stop = async () => {
          await service.stop();
          await store.close();
          process.exit(0);
        };
        process.on('SIGTERM', () => void stop());
        process.on('SIGINT', () => void stop());
        return;
      }
      const { default: ProgressBar } = await import('progress');
      const before = (await service.status()).queueDepth;
      const bar =
        process.stderr.isTTY && before > 0 && !opts.json
          ? new ProgressBar('pushing [:bar] :current/:total :rate/s :etas', {
              total: before,
              width: 30,
              stream: process.stderr,
            })
          : undefined;
      let last = 0;
      const result = await service.pushOnce((done) => {
        const settled = done.done + done.dead + done.blocked + done.parked;
        bar?.tick(Math.max(0, Math.min(settled - last, bar.total - bar.curr)));
        last = settled;
      });
      const status = await service.status();
      await store.close();
      print(
        opts,
        { result, status },
        () =>
          `pushed ${result.done}, dead letters ${result.dead}, blocked by consent ${result.blocked}, held by a dependency ${status.heldByDependency}, parked ${result.parked}, ` +
          `retrying ${result.retrying}; queue depth now ${status.queueDepth}`,
      );
      process.exit(result.dead > 0 ? 1 : 0);
    });

  withConnection(sync.command('pull'), true)
    .description('Poll the remote for followed clients (Consent, QuestionnaireResponse) and store locally')
    .option('--follow <patientId...>', 'also follow these local Patient ids')
    .action(async (opts: SyncCliOptions & { follow?: string[] }) => {
      const { store, sync: service } = await open(opts, true);
      for (const id of opts.follow ?? []) await service.follow(id);
      try {
        const result = await service.pullOnce();
        print(opts, result, () =>
          [
            `pulled ${result.fetched} from ${result.patients} client(s): applied ${result.applied}, unchanged ${result.unchanged}, skipped ${result.skipped}`,
            ...result.skippedClients.map((c) => `not pulled: Patient/${c.patient} — ${c.reason}`),
          ].join('\n'),
        );
      } catch (err) {
        await store.close();
        fail(`pull failed: ${(err as Error).message}`, 1);
      }
      await store.close();
    });

  withConnection(sync.command('status'), false)
    .description('Queue depth, last successes, failures, blocked by consent')
    .action(async (opts: SyncCliOptions) => {
      const { store, sync: service } = await open(opts, false);
      const s = await service.status();
      await store.close();
      print(opts, s, () =>
        [
          `queue depth        ${s.queueDepth} (pending ${s.states.pending}, in flight ${s.states.inflight})`,
          `delivered          ${s.states.done}`,
          `last push success  ${s.lastPushSuccess ?? '-'}`,
          `last pull success  ${s.lastPullSuccess ?? '-'}`,
          `retrying           ${s.failures.retrying}`,
          `dead letters       ${s.failures.deadLetters}`,
          `blocked by consent ${s.blockedByConsent}`,
          `held (dependency)  ${s.heldByDependency}`,
          `parked conflicts   ${s.states.parked} (${s.conflicts} conflicts logged)`,
          `followed clients   ${s.followedClients}`,
          `last error         ${s.failures.lastError ?? '-'}`,
          ...s.waiting.map((w) => `waiting            ${w.what} (${Math.round(w.forMs / 1000)} s)`),
          ...(s.kanta
            ? [
                `PHR patients       ${s.kanta.phrPatients}`,
                `not applicable     ${
                  Object.entries(s.kanta.notApplicable)
                    .map(([type, n]) => `${type} ${n}`)
                    .join(', ') || '-'
                } (this remote takes only self-assessments)`,
                `not imported       ${s.kanta.notImported.length} (restricted by the citizen)`,
              ]
            : []),
        ].join('\n'),
      );
    });

  withConnection(sync.command('dead-letters'), false)
    .description('List dead letters (with the remote OperationOutcome), blocked and parked rows')
    .option('--state <state>', 'dead | blocked | held | parked', 'dead')
    .option('--limit <n>', 'rows to show', '50')
    .action(async (opts: SyncCliOptions & { state: string; limit: string }) => {
      if (!['dead', 'blocked', 'held', 'parked'].includes(opts.state))
        fail('--state must be dead, blocked, held or parked');
      const { store, sync: service } = await open(opts, false);
      const limit = Number(opts.limit) || 50;
      const rows =
        opts.state === 'blocked'
          ? await service.blocked(limit)
          : opts.state === 'held'
            ? await service.held(limit)
            : opts.state === 'parked'
              ? await service.parked(limit)
              : await service.deadLetters(limit);
      await store.close();
      print(opts, rows, () =>
        rows.length
          ? rows
              .map((r) => {
                const issues = (r.outcome?.issue ?? [])
                  .map(
                    (i) =>
                      `    ${i.severity} ${i.code} ${(i.expression ?? []).join(',')} ${i.diagnostics ?? i.details?.text ?? ''}`,
                  )
                  .join('\n');
                return `#${r.id} ${r.resource_type}/${r.resource_id} (${r.action}, attempts ${r.attempts}) ${r.reason ?? ''}${issues ? `\n${issues}` : ''}`;
              })
              .join('\n')
          : `no ${opts.state} rows`,
      );
    });

  withConnection(sync.command('retry'), false)
    .description('Put dead, parked and blocked rows (or one, by outbox id) back in the queue')
    .argument('[id]', 'outbox row id')
    .action(async (id: string | undefined, opts: SyncCliOptions) => {
      if (id !== undefined && !/^\d+$/.test(id)) fail(`outbox id must be a number, got "${id}"`);
      const { store, sync: service } = await open(opts, false);
      const n = await service.retry(id);
      await store.close();
      print(opts, { requeued: n }, () => `requeued ${n} row(s)`);
      if (id !== undefined && n === 0) process.exit(1);
    });
}
