// Two facade processes on one PostgreSQL database: no duplicate identifier, no lost update.
import type { Bundle, Practitioner } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { type ServeProcess, startServe } from '../helpers/processes.ts';
import { practitioner } from './helpers.ts';

let databaseUrl = '';
let a: ServeProcess;
let b: ServeProcess;

beforeAll(async () => {
  databaseUrl = await freshDatabase('tyokyky_server');
  // Both start at once: the store serialises their migrations with an advisory lock.
  [a, b] = await Promise.all([
    startServe(['--database-url', databaseUrl]),
    startServe(['--database-url', databaseUrl]),
  ]);
}, 240_000);

afterAll(async () => {
  for (const p of [a, b]) {
    if (p && p.child.exitCode === null) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }
  if (databaseUrl) await dropDatabase(databaseUrl);
});

const send = (
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) =>
  fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/fhir+json', ...headers },
    body: JSON.stringify(body),
  });

describe('two facade processes on one PostgreSQL', () => {
  it('conditional creates racing on both processes create exactly one resource', async () => {
    const p = practitioner();
    const criteria = `identifier=${p.identifier?.[0].system}|${p.identifier?.[0].value}`;
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        send(i % 2 ? a.url : b.url, 'POST', '/Practitioner', p, { 'if-none-exist': criteria }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as Practitioner).id)));
    expect(ids.size).toBe(1);
    const search = await fetch(
      `${a.url}/Practitioner?identifier=${encodeURIComponent(`${p.identifier?.[0].system}|${p.identifier?.[0].value}`)}&_total=accurate`,
    );
    expect(((await search.json()) as Bundle).total).toBe(1);
  });

  it('versioned updates racing on both processes: one wins, the others get 412, nothing is lost', async () => {
    const created = (await (
      await send(a.url, 'POST', '/Practitioner', practitioner())
    ).json()) as Practitioner;
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        send(
          i % 2 ? a.url : b.url,
          'PUT',
          `/Practitioner/${created.id}`,
          { ...created, name: [{ family: `Writer${i}` }] },
          { 'if-match': 'W/"1"' },
        ),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(9);
    const winner = statuses.indexOf(200);
    const current = (await (await fetch(`${b.url}/Practitioner/${created.id}`)).json()) as Practitioner;
    expect(current.meta?.versionId).toBe('2');
    expect(current.name?.[0].family).toBe(`Writer${winner}`);
    const history = (await (await fetch(`${a.url}/Practitioner/${created.id}/_history`)).json()) as Bundle;
    expect(history.entry).toHaveLength(2);
  });
});
