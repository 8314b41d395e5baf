// A separate process writing to the store, driven by tests/store/children.ts: prints "ready" once
// the store is open, then for each job waits for a "go" line on stdin, runs it and prints one JSON line.
import { createInterface } from 'node:readline';
import { FhirError } from '../../src/shared/outcome.ts';
import { openStore } from '../../src/store/index.ts';
import type { ChildJob, ChildResult } from './children.ts';

const { databaseUrl, jobs } = JSON.parse(process.argv[2]) as { databaseUrl: string; jobs: ChildJob[] };
const store = await openStore({ databaseUrl, poolMax: Math.max(...jobs.map((j) => j.times)) });
// Load the search-parameter definitions now so every process starts writing at the same moment.
await store.search('Observation', { _id: 'warm-up' });
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
process.stdout.write('ready\n');

async function once(job: ChildJob): Promise<ChildResult> {
  try {
    if (job.op === 'create') {
      const { resource, created } = await store.create(job.resource, { ifNoneExist: job.ifNoneExist });
      return { status: created ? 201 : 200, id: resource.id as string, created };
    }
    const { resource } = await store.update(job.resource, { ifMatch: job.ifMatch });
    return { status: 200, id: resource.id as string, created: false };
  } catch (err) {
    if (err instanceof FhirError) return { status: err.status, message: err.message };
    return { status: 500, message: String(err) };
  }
}

for (const job of jobs) {
  while ((await lines.next()).value !== 'go') {
    // wait for the parent's signal
  }
  const results = await Promise.all(Array.from({ length: job.times }, () => once(job)));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
await store.close();
process.exit(0);
