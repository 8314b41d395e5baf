// Sync benchmark: push N resources from a local PostgreSQL store to a second tyokyky facade (child
// process, own database), pull them back into a second local store, then push another N through a
// proxy answering 20% of requests with 503. Reports resources/s, the time split (network incl. the
// remote's validation and database / local database / consent gate / rest), lost and duplicated
// counts, and the ratio of batched (transaction Bundles) to unbatched (one request per resource)
// push measured in the same run. For a cross-referenced workload it also times end to end: the same
// transaction Bundles POSTed to our facade (in this process, sync attached, push loops running) until
// the last resource is on the remote, next to the same Bundles POSTed straight to the remote; an EHR
// in a process of its own sends both (ehr-client.ts).
//
//   npx tsx bench/sync/index.ts                    # N = 10,000
//   TYOKYKY_SYNC_BENCH_N=1000 npx tsx bench/sync/index.ts
//   TYOKYKY_SYNC_BENCH_ONLY=linked npx tsx bench/sync/index.ts   # only the cross-referenced workload
//   TYOKYKY_SYNC_BENCH_ONLY=pull npx tsx bench/sync/index.ts     # only the push, then the pull back
//   TYOKYKY_SYNC_BENCH_PROFILE=DIR …   # + a V8 CPU profile of the end-to-end run, DIR/sync-end-to-end.cpuprofile
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Consent, Observation, Patient } from '@medplum/fhirtypes';
import type { Resource } from '@medplum/fhirtypes';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type BundleMode, type SyncService, createSync } from '../../src/sync/index.ts';
import { startFaultProxy } from '../../tests/sync/helpers/fault-proxy.ts';
import { consent, patient, remoteAll, score } from '../../tests/sync/helpers/fixtures.ts';
import { dropDatabase, freshDatabase, startFacade } from '../../tests/sync/helpers/processes.ts';
import { type CpuMeter, type CpuParts, cpuMeter, perThousand, profiled } from './cpu.ts';
import {
  type EhrClient,
  LINKED_PER_CLIENT,
  conditionalCreate,
  linkedClient,
  postTransaction,
  startEhrClient,
} from './ehr-client.ts';
import { nextHetu } from './hetu.ts';
import { type LocalFacade, drained, resetTimings, startLocalFacade, unsettled } from './through-facade.ts';

const N = Number(process.env.TYOKYKY_SYNC_BENCH_N ?? 10_000);
const BATCH = Number(process.env.TYOKYKY_SYNC_BENCH_BATCH ?? 200);
const PER_CLIENT = 50; // 1 Patient + 1 Consent + 48 Observations

/** N resources (clients of 50) written locally in transactions of one client each. */
async function seed(store: Store, n: number): Promise<{ ids: Set<string>; ms: number }> {
  const ids = new Set<string>();
  const started = performance.now();
  for (let written = 0; written < n; ) {
    await store.transaction(async (tx) => {
      const p = (await tx.create(patient(nextHetu()))).resource as Patient;
      ids.add(p.identifier![0].value!);
      const c = (await tx.create(consent(p.id!))).resource as Consent;
      ids.add(c.identifier![0].value!);
      written += 2;
      for (let i = 0; i < PER_CLIENT - 2 && written < n; i++, written++) {
        const o = (await tx.create(score(p.id!, i % 11))).resource as Observation;
        ids.add(o.identifier![0].value!);
      }
    });
  }
  return { ids, ms: performance.now() - started };
}

/**
 * Each part's share of the wall time. The worker keeps four rounds (two Bundles) in flight, so parts overlap and
 * the shares can add up to more than 100 %.
 */
function split(sync: SyncService, totalMs: number): string {
  const t = sync.timings;
  const pct = (x: number) => `${((100 * x) / totalMs).toFixed(0)}%`;
  const rest = Math.max(0, totalMs - t.network - t.database - t.consent);
  // The remote's Server-Timing splits its share: validation, its database, and the rest (HTTP, JSON,
  // wire). Its sums are over requests, which may overlap: scale them to the network wall time.
  const scale = t.requests > 0 ? t.network / t.requests : 0;
  const validation = t.remoteValidation * scale;
  const remoteDb = t.remoteDatabase * scale;
  const wire = Math.max(0, t.network - validation - remoteDb);
  return `network ${pct(wire)}, remote validation ${pct(validation)}, remote db ${pct(remoteDb)}, local db ${pct(t.database)}, consent gate ${pct(t.consent)}, other ${pct(rest)}`;
}

async function countRemote(url: string, ids: Set<string>): Promise<{ lost: number; duplicated: number }> {
  const counts = new Map<string, number>();
  for (const type of ['Patient', 'Consent', 'Observation']) {
    for (const r of await remoteAll(url, type)) {
      const v = ((r as Patient).identifier ?? []).find((i) => i.system === 'urn:ietf:rfc:3986')?.value;
      if (v && ids.has(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  let lost = 0;
  let duplicated = 0;
  for (const v of ids) {
    const c = counts.get(v) ?? 0;
    if (c === 0) lost++;
    if (c > 1) duplicated += c - 1;
  }
  return { lost, duplicated };
}

async function timedPush(sync: SyncService): Promise<{ ms: number; done: number }> {
  const started = performance.now();
  let done = 0;
  for (;;) {
    const r = await sync.pushOnce();
    done += r.done;
    if ((await sync.status()).queueDepth === 0) break;
    await new Promise((res) => setTimeout(res, 50)); // rows waiting out a retry delay
  }
  return { ms: performance.now() - started, done };
}

/**
 * Resources/s of conditional-create transaction Bundles of BATCH entries POSTed directly, with as
 * many Bundles in flight as the sync worker keeps (its default push concurrency, 2).
 */
async function directPost(url: string, n: number, inFlight = 2): Promise<number> {
  const started = performance.now();
  let sent = 0;
  const poster = async () => {
    while (sent < n) {
      const size = Math.min(BATCH, n - sent);
      sent += size;
      // The scores name the Patient of their own Bundle (a reference must name a stored resource).
      const fullUrl = `urn:uuid:${randomUUID()}`;
      const scores = Array.from({ length: size - 1 }, () => ({
        ...score('placeholder'),
        subject: { reference: fullUrl },
      }));
      await postTransaction(url, [
        conditionalCreate(patient('010181-999X'), fullUrl),
        ...scores.map((r) => conditionalCreate(r)),
      ]);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, poster));
  return (sent / (performance.now() - started)) * 1000;
}

/** Local ids for a linkedClient() written locally: each `Type/<uuid>` reference → the created id. */
async function writeLinked(store: Store, clients: number, ids: Set<string>): Promise<void> {
  for (let c = 0; c < clients; c++) {
    await store.transaction(async (tx) => {
      const local = new Map<string, string>();
      for (const r of linkedClient()) {
        const body = JSON.parse(
          JSON.stringify(r).replace(/"reference":"([A-Za-z]+)\/([0-9a-f-]{36})"/g, (m, _t, u) =>
            local.has(u) ? `"reference":"${local.get(u)}"` : m,
          ),
        ) as Resource;
        const created = (await tx.create(body)).resource;
        const value = (r as Patient).identifier![0].value!;
        local.set(value.slice('urn:uuid:'.length), `${created.resourceType}/${created.id}`);
        ids.add(value);
      }
    });
  }
}

/** Clients of the linked workload each side sends, untimed, before the timed runs. */
const WARM_CLIENTS = 150;

/** The three ways the linked workload reaches the remote, each warmed with WARM_CLIENTS first. */
interface Sides {
  /** Our facade (this process) with the sync's push loops running, as under `serve --remote`. */
  local: LocalFacade;
  /** The EHR sending the workload, in a process of its own (ehr-client.ts). */
  ehr: EhrClient;
  /** Identifiers sent on every path, for the lost/duplicated/dangling check. */
  ids: Set<string>;
}

async function warmSides(store: Store, url: string, ehr: EhrClient): Promise<Sides> {
  const ids = new Set<string>();
  await writeLinked(store, WARM_CLIENTS, ids);
  await worker(store, url, 'transaction').pushOnce();
  const local = await startLocalFacade(store, worker(store, url, 'transaction'));
  await ehr.post(local.url, WARM_CLIENTS, ids);
  await drained(store);
  await ehr.post(url, WARM_CLIENTS, ids);
  return { local, ehr, ids };
}

/** From the first POST to our facade until the last resource is on the remote (outbox settled). */
async function throughFacade(store: Store, sides: Sides, clients: number) {
  const { local, ehr, ids } = sides;
  resetTimings(local.sync);
  const started = performance.now();
  const postMs = await ehr.post(local.url, clients, ids);
  const left = await unsettled(store);
  await drained(store);
  return { ms: performance.now() - started, postMs, left };
}

/** Local writes one client per store transaction, then the push alone from the outbox. */
async function writeThenPush(store: Store, url: string, clients: number, ids: Set<string>) {
  const sync = worker(store, url, 'transaction');
  await sync.ready;
  const started = performance.now();
  await writeLinked(store, clients, ids);
  const writeMs = performance.now() - started;
  const pushed = await timedPush(sync);
  return { writeMs, pushMs: pushed.ms, sync };
}

/**
 * End to end with cross-resource references, next to the same workload POSTed directly as transaction
 * Bundles (urn:uuid references, 2 in flight) in the same run. End to end is the same EHR client (its
 * own process, so it competes with neither side's event loop) sending the same Bundles to our facade with the sync attached (its push loops running meanwhile),
 * timed from the first POST until the outbox is drained and settled. Also shown: the older split —
 * local writes through the store API, then the push alone. Fair to all sides: each first sends
 * WARM_CLIENTS clients untimed, and direct and end-to-end runs alternate (direct first and last): on a
 * shared machine the load drifts within seconds, so each end-to-end run is compared with the mean of
 * the direct runs either side of it and the figure is the median of those rounds (all printed). Checks
 * lost, duplicated and dangling (a reference on the remote that resolves to nothing there) over every
 * path.
 */
async function endToEnd(store: Store, url: string, clients: number, meter: CpuMeter): Promise<void> {
  const ehr = startEhrClient(BATCH);
  try {
    const sides = await warmSides(store, url, ehr);
    try {
      await timedSides(store, url, clients, meter, sides);
    } finally {
      await sides.local.close();
    }
  } finally {
    ehr.close();
  }
}

/** Rounds of direct / end to end (TYOKYKY_SYNC_BENCH_ROUNDS, default 3): the ratio is the median of the rounds'. */
const ROUNDS = Math.max(1, Number(process.env.TYOKYKY_SYNC_BENCH_ROUNDS ?? 3));

interface Round {
  /** ms of the direct POSTs before and after this round's end-to-end run. */
  before: number;
  after: number;
  e2e: { ms: number; postMs: number; left: number };
  e2eCpu: CpuParts | undefined;
  split: string;
}

/**
 * The timed runs of endToEnd: ROUNDS times direct then end to end, one direct more at the end (each
 * end-to-end run is compared with the mean of the direct runs on either side of it), then the store
 * writes + push alone once.
 */
async function timedSides(store: Store, url: string, clients: number, meter: CpuMeter, sides: Sides) {
  const { local, ehr, ids } = sides;
  const n = clients * LINKED_PER_CLIENT;
  const directs = [await meter.measure(() => ehr.post(url, clients, ids))];
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const { result: e2e, cpu: e2eCpu } = await meter.measure(() =>
      profiled(`sync-end-to-end${i === 0 ? '' : `-${i + 1}`}`, () => throughFacade(store, sides, clients)),
    );
    const split_ = split(local.sync, e2e.ms);
    directs.push(await meter.measure(() => ehr.post(url, clients, ids)));
    rounds.push({ before: directs[i].result, after: directs[i + 1].result, e2e, e2eCpu, split: split_ });
  }
  await local.close();
  const { result: old, cpu: pushCpu } = await meter.measure(() => writeThenPush(store, url, clients, ids));
  const check = await countRemoteLinked(url, ids);

  const rate = (ms: number) => (n / ms) * 1000;
  const directMs = median(directs.map((d) => d.result));
  const directRate = rate(directMs);
  const ratios = rounds.map((r) => rate(r.e2e.ms) / rate((r.before + r.after) / 2));
  const cpus = directs.map((d) => d.cpu).filter((c): c is CpuParts => !!c);
  const directCpu = cpus.length ? cpus.reduce(sumCpu) : undefined;
  const e2eCpus = rounds.map((r) => r.e2eCpu).filter((c): c is CpuParts => !!c);
  const e2eCpu = e2eCpus.length ? e2eCpus.reduce(sumCpu) : undefined;
  const x = (ms: number) => `${(rate(ms) / directRate).toFixed(2)}×`;
  const roundLines = rounds.map(
    (r, i) =>
      `    round ${i + 1}: direct ${rate(r.before).toFixed(0)} / ${rate(r.after).toFixed(0)}, end to end ${rate(r.e2e.ms).toFixed(0)} resources/s = ${ratios[i].toFixed(2)}× (${(r.e2e.ms / 1000).toFixed(1)} s: POSTs answered after ${(r.e2e.postMs / 1000).toFixed(1)} s with ${r.e2e.left} rows still to push; push ${r.split})`,
  );
  console.log(
    `cross-referenced workload (${clients} clients × ${LINKED_PER_CLIENT}: Goal → Observation, CarePlan → Goal + Observation, all → Patient; ${WARM_CLIENTS} clients each side untimed first; ${ROUNDS} rounds):\n` +
      `  direct transaction POSTs to the remote (urn:uuid, 2 in flight): ${directRate.toFixed(0)} resources/s (median of ${directs.length} runs)\n` +
      `  end to end, the same POSTs to our facade + sync → all on remote: ${median(ratios).toFixed(2)}× direct (median of the rounds' ratios; each round against the direct runs either side of it)\n` +
      `${roundLines.join('\n')}\n` +
      `  local writes via the store API (outbox in the same tx):         ${rate(old.writeMs).toFixed(0)} resources/s\n` +
      `  push alone, outbox → on the remote:                             ${rate(old.pushMs).toFixed(0)} resources/s = ${x(old.pushMs)} direct (${split(old.sync, old.pushMs)})\n` +
      `  store writes then push, first write → all on remote:            ${rate(old.writeMs + old.pushMs).toFixed(0)} resources/s = ${x(old.writeMs + old.pushMs)} direct\n` +
      `  lost ${check.lost}, duplicated ${check.duplicated}, dangling ${check.dangling} (of ${ids.size} sent on all paths)\n` +
      `  CPU, end to end: ${perThousand(e2eCpu, n * e2eCpus.length)} ("sync" = this process: our facade + the sync)\n` +
      `  CPU, store writes + push alone: ${perThousand(pushCpu, n)}\n` +
      `  CPU, direct:     ${perThousand(directCpu, n * cpus.length)} (all direct runs; the EHR client's own CPU is in neither figure)`,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function sumCpu(a: CpuParts, b: CpuParts): CpuParts {
  return {
    sync: a.sync + b.sync,
    localPg: a.localPg + b.localPg,
    facade: a.facade + b.facade,
    remotePg: a.remotePg + b.remotePg,
  };
}

async function countRemoteLinked(url: string, ids: Set<string>) {
  const remote = (
    await Promise.all(['Patient', 'Consent', 'Observation', 'Goal', 'CarePlan'].map((t) => remoteAll(url, t)))
  ).flat();
  const present = new Set(remote.map((r) => `${r.resourceType}/${r.id}`));
  const counts = new Map<string, number>();
  let dangling = 0;
  for (const r of remote) {
    const v = ((r as Patient).identifier ?? []).find((i) => i.system === 'urn:ietf:rfc:3986')?.value;
    if (!v || !ids.has(v)) continue;
    counts.set(v, (counts.get(v) ?? 0) + 1);
    for (const m of JSON.stringify(r).matchAll(/"reference":"([A-Za-z]+\/[^"]+)"/g))
      if (!present.has(m[1])) dangling++;
  }
  let lost = 0;
  let duplicated = 0;
  for (const v of ids) {
    const c = counts.get(v) ?? 0;
    if (c === 0) lost++;
    if (c > 1) duplicated += c - 1;
  }
  return { lost, duplicated, dangling };
}

function worker(store: Store, baseUrl: string, bundle: BundleMode): SyncService {
  return createSync({
    store,
    remote: {
      baseUrl,
      party: 'other-health-care',
      bundle,
      timeoutMs: 60_000,
      retry: { maxAttempts: 6, initialDelayMs: 20, maxDelayMs: 500 },
      breaker: { consecutiveFailures: 20, halfOpenAfterMs: 500 },
    },
    batchSize: BATCH,
    retryBaseMs: 100,
    installHook: false,
  });
}

export default async function run(): Promise<void> {
  const remoteDb = await freshDatabase('tyokyky_sync_bench_remote');
  const localDb = await freshDatabase('tyokyky_sync_bench_local');
  const pullDb = await freshDatabase('tyokyky_sync_bench_pull');
  const facade = await startFacade(remoteDb);
  const meter = cpuMeter(facade.child.pid!, localDb, remoteDb);
  const store = await openStore({ databaseUrl: localDb });
  const hooks = createSync({ store, remote: { baseUrl: facade.url, party: 'other-health-care' } });
  await hooks.ready;
  try {
    console.log(
      `sync bench: N=${N}, batch ${BATCH}, 2 push Bundles at the remote at once, 4 rounds in flight (time shares below overlap), local PostgreSQL → tyokyky facade (PostgreSQL) at ${facade.url}`,
    );

    // Warm the facade (validator load) so it is not charged to the first batch.
    const warm = await seed(store, 2);
    await worker(store, facade.url, 'transaction').pushOnce();

    if (process.env.TYOKYKY_SYNC_BENCH_ONLY === 'linked') {
      await endToEnd(store, facade.url, Math.max(100, Math.round(N / 5 / LINKED_PER_CLIENT)), meter);
      return;
    }
    const clean = await seed(store, N);
    const batched = worker(store, facade.url, 'transaction');
    const push = await timedPush(batched);
    if (process.env.TYOKYKY_SYNC_BENCH_ONLY === 'pull') {
      await pullBack(store, facade.url, pullDb);
      return;
    }
    const pushRate = (push.done / push.ms) * 1000;
    const cleanCheck = await countRemote(facade.url, clean.ids);
    console.log(
      `local writes (outbox in the same tx): ${((N / clean.ms) * 1000).toFixed(0)} resources/s\n` +
        `push, transaction Bundles:           ${pushRate.toFixed(0)} resources/s (${push.done} in ${(push.ms / 1000).toFixed(1)} s; ${split(batched, push.ms)}); lost ${cleanCheck.lost}, duplicated ${cleanCheck.duplicated}`,
    );

    await endToEnd(store, facade.url, Math.max(100, Math.round(N / 5 / LINKED_PER_CLIENT)), meter);

    // Floor in the same run: the same kind of transaction Bundles POSTed straight to the facade, no
    // sync (no outbox, consent gate or mapping) — what the remote itself can take.
    const direct = await directPost(facade.url, Math.max(200, Math.round(N / 5)));
    console.log(
      `direct transaction POST (no sync, 2 in flight): ${direct.toFixed(0)} resources/s → sync reaches ${((100 * pushRate) / direct).toFixed(0)}% of it`,
    );

    // Peer in the same run: the same worker without batching (one conditional create per resource).
    const small = Math.max(100, Math.round(N / 10));
    await seed(store, small);
    const single = worker(store, facade.url, 'none');
    const one = await timedPush(single);
    const oneRate = (one.done / one.ms) * 1000;
    console.log(
      `push, one request per resource:     ${oneRate.toFixed(0)} resources/s (${one.done} in ${(one.ms / 1000).toFixed(1)} s; ${split(single, one.ms)})\n` +
        `ratio batched / unbatched:          ${(pushRate / oneRate).toFixed(2)}×`,
    );

    await pullBack(store, facade.url, pullDb);
    await pushThroughFaults(store, facade.url);
    void warm;
  } finally {
    await store.close();
    await facade.stop();
    for (const url of [remoteDb, localDb, pullDb]) await dropDatabase(url);
  }
}

/** Pulls the pushed clients' Consents and Observations back into a second store that knows them. */
async function pullBack(store: Store, facadeUrl: string, pullDb: string): Promise<void> {
  // Pull them back into a second local store that knows the clients.
  const pullStore = await openStore({ databaseUrl: pullDb });
  const puller = createSync({
    store: pullStore,
    remote: { baseUrl: facadeUrl, party: 'other-health-care' },
    pullTypes: ['Consent', 'Observation'],
    pullPageSize: 500,
    installHook: false,
  });
  await puller.ready;
  const patients = await store.query<{ local_id: string; remote_id: string }>(
    "SELECT local_id, remote_id FROM sync_idmap WHERE resource_type = 'Patient'",
  );
  for (const p of patients) {
    const local = await store.read('Patient', p.local_id);
    await pullStore.create({ ...local, id: p.local_id }, { keepId: true });
    await pullStore.query(
      "INSERT INTO sync_idmap (resource_type, local_id, remote_id) VALUES ('Patient', $1, $2)",
      [p.local_id, p.remote_id],
    );
    await puller.follow(p.local_id);
  }
  const pullStarted = performance.now();
  const pulled = await puller.pullOnce();
  const pullMs = performance.now() - pullStarted;
  console.log(
    `pull back (${pulled.patients} clients, Consent + Observation): ${((pulled.applied / pullMs) * 1000).toFixed(0)} resources/s ` +
      `(${pulled.applied} applied of ${pulled.fetched} in ${(pullMs / 1000).toFixed(1)} s; ${split(puller, pullMs)})`,
  );
  const again = performance.now();
  const repeat = await puller.pullOnce();
  console.log(
    `repeat pull: ${repeat.applied} applied, ${repeat.unchanged} unchanged in ${((performance.now() - again) / 1000).toFixed(1)} s`,
  );
  await pullStore.close();
}

/** The same push through a proxy that answers 20 % of the requests with 503. */
async function pushThroughFaults(store: Store, facadeUrl: string): Promise<void> {
  // 20% injected 503s.
  const proxy = await startFaultProxy(facadeUrl, {
    errorRate: 0.2,
    statuses: [503],
    retryAfter: '0',
    errorNext: 1,
  });
  const faulty = await seed(store, N);
  const flaky = worker(store, proxy.url, 'transaction');
  const f = await timedPush(flaky);
  const fCheck = await countRemote(facadeUrl, faulty.ids);
  console.log(
    `push with 20% 503s:                  ${((f.done / f.ms) * 1000).toFixed(0)} resources/s (${f.done} in ${(f.ms / 1000).toFixed(1)} s; ` +
      `${proxy.stats.injected} of ${proxy.stats.requests} requests failed; ${split(flaky, f.ms)}); lost ${fCheck.lost}, duplicated ${fCheck.duplicated}`,
  );
  await proxy.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run();
}
