// The EHR of the sync bench's cross-referenced workload: transaction Bundles of whole clients POSTed
// to a FHIR base — the remote directly, or our facade with the sync attached. It runs in a process of
// its own (startEhrClient), as an EHR would: building and sending its Bundles then competes with
// neither side's event loop — the direct POSTs' nor our facade's. Its CPU is in neither side's figure.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bundle, BundleEntry, Patient, Resource } from '@medplum/fhirtypes';
import { consent, goal, linkedPlan, patient, score } from '../../tests/sync/helpers/fixtures.ts';
import { EHR_HETU_FROM, nextHetu } from './hetu.ts';

/** One client of the workload: Patient, Consent, 3 Observations, Goal → Observation, CarePlan → Goal + Observation. */
export const LINKED_PER_CLIENT = 7;

/** A new client of the workload, references as `Type/<business identifier uuid>`. */
export function linkedClient(): Resource[] {
  const p = patient(nextHetu());
  const ref = (r: Resource) => `urn:uuid:${(r as Patient).identifier![0].value!.slice('urn:uuid:'.length)}`;
  const pid = ref(p).slice('urn:uuid:'.length);
  const k = consent(pid);
  const obs = [0, 1, 2].map((i) => score(pid, i + 4));
  const g = goal(pid, ref(obs[0]).slice('urn:uuid:'.length));
  const plan = linkedPlan(pid, ref(g).slice('urn:uuid:'.length), ref(obs[1]).slice('urn:uuid:'.length));
  return [p, k, ...obs, g, plan];
}

/** References `Type/<uuid>` of a linkedClient() as urn:uuid (for a transaction Bundle). */
function asUrn(r: Resource): Resource {
  return JSON.parse(
    JSON.stringify(r).replace(/"reference":"[A-Za-z]+\/([0-9a-f-]{36})"/g, '"reference":"urn:uuid:$1"'),
  );
}

/**
 * `clients` new clients POSTed as transaction Bundles of about `batch` entries (urn:uuid references,
 * 2 in flight, return=minimal — the same Prefer the push sends) to `url`; ms and the business
 * identifiers sent.
 */
/** A conditional create of `resource` keyed by its first identifier, as an EHR sends one. */
export function conditionalCreate(resource: Resource, fullUrl?: string): BundleEntry {
  const ident = (resource as Patient).identifier![0];
  return {
    ...(fullUrl ? { fullUrl } : {}),
    resource,
    request: {
      method: 'POST',
      url: resource.resourceType,
      ifNoneExist: `identifier=${ident.system}|${ident.value}`,
    },
  };
}

/** POSTs one transaction Bundle asking for `return=minimal`, as the sync's push does; throws on failure. */
export async function postTransaction(url: string, entry: BundleEntry[]): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
      prefer: 'return=minimal',
    },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry } as Bundle),
  });
  if (!res.ok) throw new Error(`direct POST → ${res.status}: ${(await res.text()).slice(0, 300)}`);
  await res.arrayBuffer();
}

async function postLinked(
  url: string,
  clients: number,
  batch: number,
): Promise<{ ms: number; ids: string[] }> {
  const ids: string[] = [];
  const started = performance.now();
  let next = 0;
  const perBundle = Math.max(1, Math.floor(batch / LINKED_PER_CLIENT));
  const poster = async () => {
    while (next < clients) {
      const take = Math.min(perBundle, clients - next);
      next += take;
      const entry = Array.from({ length: take }, linkedClient)
        .flat()
        .map((r) => {
          const ident = (r as Patient).identifier![0];
          ids.push(ident.value!);
          return conditionalCreate(asUrn(r), ident.value);
        });
      await postTransaction(url, entry);
    }
  };
  await Promise.all([poster(), poster()]);
  return { ms: performance.now() - started, ids };
}

export interface EhrClient {
  /** POSTs `clients` clients to `url` (see postLinked), adding their identifiers to `ids`; ms. */
  post(url: string, clients: number, ids: Set<string>): Promise<number>;
  close(): void;
}

/** This file as a child process taking one request per line on stdin, answering each on stdout. */
export function startEhrClient(batch: number): EhrClient {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, TYOKYKY_BENCH_HETU_FROM: String(EHR_HETU_FROM) },
  });
  const answers = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  answers.on('line', (line) => waiting.shift()?.(line));
  return {
    async post(url, clients, ids) {
      const answer = new Promise<string>((resolve) => waiting.push(resolve));
      child.stdin!.write(`${JSON.stringify({ url, clients, batch })}\n`);
      const a = JSON.parse(await answer) as { ms: number; ids: string[] } | { error: string };
      if ('error' in a) throw new Error(`EHR client: ${a.error}`);
      for (const id of a.ids) ids.add(id);
      return a.ms;
    },
    close() {
      child.stdin!.end();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for await (const line of createInterface({ input: process.stdin })) {
    const { url, clients, batch } = JSON.parse(line) as { url: string; clients: number; batch: number };
    const answer = await postLinked(url, clients, batch).catch((err: Error) => ({ error: err.message }));
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
}
