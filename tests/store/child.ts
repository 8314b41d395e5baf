// A separate process writing to the store, driven by tests/store/children.ts:
// prints "ready" once the store is open, waits for "go" on stdin, runs the operation, prints JSON.
import { createInterface } from 'node:readline';
import { FhirError } from '../../src/shared/outcome.ts';
import { openStore } from '../../src/store/index.ts';
import type { ChildJob, ChildResult } from './children.ts';

const job = JSON.parse(process.argv[2]) as ChildJob;
const store = await openStore({ databaseUrl: job.databaseUrl, poolMax: job.times });
// Warm up the search-parameter definitions so both processes start writing at the same moment.
await store.search('Observation', { _id: 'warm-up' });
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;

async function once(): Promise<ChildResult> {
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

const results = await Promise.all(Array.from({ length: job.times }, once));
process.stdout.write(`${JSON.stringify(results)}\n`);
await store.close();
lines.close();
