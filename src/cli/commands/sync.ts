import type { Command } from 'commander';
import { REMOTE_IDENTITY, addRemoteOptions } from '../remote-options.ts';
import { NO_STRICT_HELP, strictFrom } from '../strict-mode.ts';
import type { PullOptions, PushOptions, RowsOptions, StatusOptions, SyncStoreOptions } from '../sync/run.ts';

/** The work is in `../sync/`, loaded only when a subcommand runs. */
const run = () => import('../sync/run.ts');

/** The store and the output: what every `tyokyky sync` subcommand takes. */
function withStore(cmd: Command): Command {
  return cmd
    .option(
      '--database-url <url>',
      'PostgreSQL connection string (env DATABASE_URL)',
      process.env.DATABASE_URL,
    )
    .option('--data-dir <dir>', 'PGlite data directory (env DATA_DIR)', process.env.DATA_DIR ?? './data')
    .option('--json', 'print JSON');
}

/** What `--concurrency` is to each: the push's send slots; a pull sends no Bundles. */
const CONCURRENCY_HELP = {
  push: 'Bundles at the remote at once (1-8; a round is prepared while another is sent)',
  pull: "the push's Bundles at the remote at once (1-8, checked as for push): a pull sends none",
} as const;

/** Push and pull: the remote (as `serve --remote`'s, src/cli/remote-options.ts), the store and the rounds. */
function withConnection(cmd: Command, kind: keyof typeof CONCURRENCY_HELP): Command {
  return withStore(addRemoteOptions(cmd))
    .option('--batch-size <n>', 'outbox rows per round', '100')
    .option('--concurrency <n>', CONCURRENCY_HELP[kind], '2')
    .option(
      '--lease <ms>',
      'how long a claimed outbox row stays with this worker before others may take it',
      '120000',
    )
    .option('--no-strict', NO_STRICT_HELP);
}

export function registerSyncCommand(program: Command): void {
  const sync = program
    .command('sync')
    .description('Two-way sync with a Kanta-style FHIR store (outbox push, pull, status)');
  // What the pull (and a remote-wins conflict) stores is judged as `serve` judges a write: its mode.
  sync.hook('preAction', (_sync, action) => {
    if (action.getOptionValueSource('strict') !== undefined)
      action.setOptionValue('strict', strictFrom(action));
  });

  withConnection(sync.command('push'), 'push')
    .description(
      'Deliver the outbox to the remote (until nothing more can go now: exit 75 while rows wait for a failing remote; or forever with --watch)',
    )
    .option('--watch', 'keep running (a worker); stop with SIGTERM/SIGINT')
    .option('--with-pull', 'with --watch: also poll the remote for followed clients')
    .action(async (opts: PushOptions) => {
      const unused = pushFlagsWithoutEffect(opts);
      if (unused) {
        console.error(`tyokyky sync: ${unused}`);
        process.exit(2);
      }
      return (await run()).pushAction(opts);
    });

  withConnection(sync.command('pull'), 'pull')
    .description('Poll the remote for followed clients (Consent, QuestionnaireResponse) and store locally')
    .option('--follow <patientId...>', 'also follow these local Patient ids')
    .option(
      '--refused',
      'instead: read again, by id, the remote resources the pull refused (sync status lists them) and store those that pass now',
    )
    .action(async (opts: PullOptions) => (await run()).pullAction(opts));

  registerLocalCommands(sync);
}

/**
 * A push flag this run would ignore, as a refusal (exit 2 before the store opens), as `serve` refuses
 * its flags without effect: `--with-pull` polls only in the `--watch` worker.
 */
function pushFlagsWithoutEffect(opts: PushOptions): string | undefined {
  if (opts.withPull && !opts.watch)
    return '--with-pull works only with --watch (a one-off push pulls nothing; run sync pull)';
  return undefined;
}

/** The subcommands that read or requeue the store's outbox and never reach the remote. */
function registerLocalCommands(sync: Command): void {
  withStore(addRemoteOptions(sync.command('status'), '', REMOTE_IDENTITY))
    .description(
      'Queue depth, last successes, failures, blocked by consent; the remote and party the store syncs with',
    )
    .action(async (opts: StatusOptions) => (await run()).statusAction(opts));

  withStore(sync.command('dead-letters'))
    .description(
      'List dead letters (each remote issue by severity, code, element and rule; --json gives the remote OperationOutcome whole), blocked and parked rows',
    )
    .option('--state <state>', 'dead | blocked | held | parked', 'dead')
    .option('--limit <n>', 'rows to show (1–1000; as many as the API shows when not given)')
    .action(async (opts: RowsOptions) => (await run()).rowsAction(opts));

  withStore(sync.command('conflicts'))
    .description('List the conflicts with remote edits, newest first: the policy that settled each and how')
    .option('--limit <n>', 'conflicts to show (1–1000; as many as the API shows when not given)')
    .action(async (opts: SyncStoreOptions & { limit?: string }) => (await run()).conflictsAction(opts));

  withStore(sync.command('backfill'))
    .description(
      'Queue resources stored while no sync was attached (the first push or pull does this once; run it after writes by a process without the sync)',
    )
    .action(async (opts: SyncStoreOptions) => (await run()).backfillAction(opts));

  withStore(sync.command('retry'))
    .description('Put dead, parked and blocked rows (or one, by outbox id) back in the queue')
    .argument('[id]', 'outbox row id')
    .action(async (id: string | undefined, opts: SyncStoreOptions) => (await run()).retryAction(id, opts));

  withStore(sync.command('resolve'))
    .description(
      'Settle a parked conflict: keep the local version (written over the remote one) or the remote one (stored here) on its next push',
    )
    .argument('<id>', 'outbox row id of the parked row')
    .requiredOption('--keep <local|remote>', 'which version to keep')
    .action(async (id: string, opts: SyncStoreOptions & { keep: string }) =>
      (await run()).resolveAction(id, opts),
    );
}
