// Kanta PHR benchmark: push N self-assessment responses from a local PostgreSQL store through the
// Kanta PHR adapter (batch Bundles of conditional creates, each client's pseudonymous PHR Patient
// first) to a `serve --mode kanta-phr` sandbox (child process, own database), and POST another N
// Kanta-shaped responses straight to the same sandbox one by one (8 in flight) in the same run.
// Reports resources/s for both, their ratio, and lost / duplicated counts. Then pulls back: the first
// pull (every response read, each passed over as ours) next to reading the same pages directly, and a
// repeat pull (only what changed since the first).
//
//   npx tsx bench/sync/kanta.ts                    # N = 2,000
//   TYOKYKY_KANTA_BENCH_N=500 npx tsx bench/sync/kanta.ts
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Bundle, Consent, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { personas } from '../../examples/tools/personas.ts';
import { toResources } from '../../src/mapping/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createKantaAdapter, createSync } from '../../src/sync/index.ts';
import { phrPatientResource } from '../../src/sync/kanta/index.ts';
import { startSandbox } from '../../tests/kanta/helpers.ts';
import { dropDatabase, freshDatabase } from '../../tests/sync/helpers/processes.ts';

const N = Number(process.env.TYOKYKY_KANTA_BENCH_N ?? 2_000);
const PER_CLIENT = 20;
const APP = { name: 'tyokyky-bench', applicationId: 'kela-bench-1' };
const FHIR = 'application/fhir+json';

function hetu(i: number): string {
  // Test HETUs: individual numbers 900–999; the check character from the mod-31 table.
  const day = String(1 + (i % 28)).padStart(2, '0');
  const base = `${day}0190${900 + (Math.trunc(i / 28) % 100)}`;
  return `${day}0190-${900 + (Math.trunc(i / 28) % 100)}${'0123456789ABCDEFHJKLMNPRSTUVWXY'[Number(base) % 31]}`;
}

/** Clients with a consent that lets Kela see work-ability data and PER_CLIENT self-assessments each. */
async function seed(store: Store, n: number): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let c = 0; ids.size < n; c++) {
    const client = { ...personas.suvi.client, id: `bench-${c}`, hetu: hetu(c) };
    await store.transaction(async (tx) => {
      const [p] = toResources('client', client as never, { validate: false }) as Patient[];
      const pid = (await tx.create(p)).resource.id as string;
      const [k] = toResources(
        'consent',
        { ...personas.suvi.consents![0], id: `bench-consent-${c}`, clientId: client.id } as never,
        { validate: false },
      ) as Consent[];
      await tx.create({ ...k, patient: { reference: `Patient/${pid}` } });
      for (let i = 0; i < PER_CLIENT && ids.size < n; i++) {
        const id = randomUUID();
        const [qr] = toResources(
          'selfAssessment',
          { id, clientId: client.id, date: '2026-03-01', overall: i % 11 },
          {
            application: APP,
            validate: false,
          },
        ) as QuestionnaireResponse[];
        await tx.create({
          ...qr,
          subject: { reference: `Patient/${pid}` },
          author: { reference: `Patient/${pid}` },
        });
        ids.add(`urn:uuid:${id}`);
      }
    });
  }
  return ids;
}

async function remoteIdentifierCounts(remoteDb: string): Promise<Map<string, number>> {
  const remote = await openStore({ databaseUrl: remoteDb });
  const counts = new Map<string, number>();
  try {
    let cursor: string | undefined;
    do {
      const page = await remote.search(
        'QuestionnaireResponse',
        cursor ? { _count: '1000', _cursor: cursor } : { _count: '1000' },
      );
      for (const r of page.resources as QuestionnaireResponse[]) {
        const v = r.identifier?.value as string;
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      cursor = page.nextCursor;
    } while (cursor);
  } finally {
    await remote.close();
  }
  return counts;
}

/** The direct peer: N Kanta-shaped responses POSTed one by one (conditional create), 8 in flight. */
async function directPosts(base: string, n: number): Promise<{ ms: number; ids: Set<string> }> {
  const patient = await fetch(`${base}/Patient`, {
    method: 'POST',
    headers: { 'content-type': FHIR },
    body: JSON.stringify(phrPatientResource(`urn:uuid:${randomUUID()}`)),
  });
  const pid = ((await patient.json()) as Patient).id;
  const ref = { reference: `Patient/${pid}` };
  const ids = new Set<string>();
  const bodies = Array.from({ length: n }, (_, i) => {
    const id = randomUUID();
    ids.add(`urn:uuid:${id}`);
    const [qr] = toResources(
      'selfAssessment',
      { id, clientId: 'direct', date: '2026-03-01', overall: i % 11 },
      {
        application: APP,
        validate: false,
      },
    ) as QuestionnaireResponse[];
    return {
      ...qr,
      meta: { profile: ['http://phr.kanta.fi/StructureDefinition/fiphr-sd-questionnaireresponse-r4'] },
      subject: ref,
      author: ref,
      source: ref,
    };
  });
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await fetch(`${base}/QuestionnaireResponse`, {
        method: 'POST',
        headers: {
          'content-type': FHIR,
          'if-none-exist': `identifier=urn:ietf:rfc:3986|${body.identifier?.value}`,
        },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`direct POST answered ${res.status}: ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return { ms: performance.now() - started, ids };
}

/** The peer of a pull: every followed client's responses read page by page, nothing stored. */
async function directReads(base: string, phrIds: string[]): Promise<{ ms: number; read: number }> {
  const started = performance.now();
  let read = 0;
  for (const id of phrIds) {
    let url: string | undefined = `${base}/QuestionnaireResponse?patient=Patient/${id}&_count=100`;
    while (url) {
      const page = (await (await fetch(url, { headers: { accept: FHIR } })).json()) as Bundle;
      read += page.entry?.length ?? 0;
      url = page.link?.find((l) => l.relation === 'next')?.url;
    }
  }
  return { ms: performance.now() - started, read };
}

/**
 * The pull after the push: the first reads every response back (each one ours, at the version we
 * wrote: passed over), a repeat pull reads only what changed since (nothing). Next to reading the
 * same pages directly.
 */
async function pulls(sync: SyncService, base: string, store: Store): Promise<void> {
  const timed = async () => {
    const started = performance.now();
    const result = await sync.pullOnce();
    return { ms: performance.now() - started, result };
  };
  const first = await timed();
  const again = await timed();
  const phr = await store.query<{ remote_id: string }>('SELECT remote_id FROM sync_kanta_patient');
  const direct = await directReads(
    base,
    phr.map((p) => p.remote_id),
  );
  const { fetched, applied, unchanged } = first.result;
  console.log(
    `  pull back: ${first.ms.toFixed(0)} ms (fetched ${fetched}, applied ${applied}, unchanged ${unchanged}); reading the same pages directly: ${direct.ms.toFixed(0)} ms (${direct.read}); ratio ${(direct.ms / first.ms).toFixed(2)}×`,
  );
  console.log(
    `  repeat pull: ${again.ms.toFixed(0)} ms (fetched ${again.result.fetched}, applied ${again.result.applied})`,
  );
}

export default async function run(): Promise<void> {
  const [remoteDb, localDb] = await Promise.all([
    freshDatabase('tyokyky_kbench_remote'),
    freshDatabase('tyokyky_kbench_local'),
  ]);
  const sandbox = await startSandbox(remoteDb);
  const store = await openStore({ databaseUrl: localDb });
  try {
    const sync = createSync({
      store,
      // The seeded writes fall within a second or two, and a pull's window reaches back a second before
      // its cursor (the default overlap): without this a repeat pull would read most of them again.
      remote: { baseUrl: sandbox.url, party: 'kela', pullOverlapMs: 0 },
      adapter: createKantaAdapter({ application: APP }),
      batchSize: 200,
      pushConcurrency: 1,
    });
    await sync.ready;
    const ids = await seed(store, N);
    const started = performance.now();
    const pushed = await sync.pushOnce();
    const pushMs = performance.now() - started;
    const direct = await directPosts(sandbox.url, N);
    const counts = await remoteIdentifierCounts(remoteDb);
    const lost = [...ids, ...direct.ids].filter((v) => !counts.has(v)).length;
    const duplicated = [...counts.values()].filter((n) => n > 1).length;
    const pushRate = (N / pushMs) * 1000;
    const directRate = (N / direct.ms) * 1000;
    console.log(
      `Kanta PHR sandbox, ${N} self-assessment responses each way (PHR Patients: ${Math.ceil(N / PER_CLIENT)})`,
    );
    console.log(
      `  adapter push (batch Bundles of 200): ${pushRate.toFixed(0)} resources/s (${(pushMs / 1000).toFixed(1)} s; done ${pushed.done}, dead ${pushed.dead})`,
    );
    console.log(
      `  direct POST, one by one, 8 in flight: ${directRate.toFixed(0)} resources/s (${(direct.ms / 1000).toFixed(1)} s)`,
    );
    console.log(
      `  ratio push / direct POST: ${(pushRate / directRate).toFixed(2)}×; lost ${lost}, duplicated ${duplicated}`,
    );
    await pulls(sync, sandbox.url, store);
    await sync.stop();
  } finally {
    await store.close();
    await sandbox.stop();
    for (const url of [remoteDb, localDb]) await dropDatabase(url);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
