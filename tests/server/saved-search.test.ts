// Searches too long for a URL page through criteria saved in the store: POST _search (the 431
// answer's own advice) and a GET near Node's 16 KB header limit get next links of the form
// `[base]/[type]?_saved=<key>&…`, followed here over real HTTP against a listening server.
import { randomUUID } from 'node:crypto';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { type Fixture, openFixture, practitioner, silent } from './helpers.ts';

const FORM = 'application/x-www-form-urlencoded';
const KEY = /[A-Za-z0-9_-]{22}/;

let fx: Fixture;
let server: RunningServer;
let fhir: string;
/** The ids of the Practitioners the searches below look for. */
const made: string[] = [];

beforeAll(async () => {
  fx = await openFixture();
  server = await startServer({ store: fx.store, validator: fx.validator, logger: silent, port: 0 });
  fhir = `${server.url}/fhir`;
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${fhir}/Practitioner`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify(practitioner()),
    });
    expect(res.status).toBe(201);
    made.push(((await res.json()) as { id: string }).id);
  }
});
afterAll(async () => {
  await server?.close();
  await fx?.close();
});

/** `_id` criteria naming the five Practitioners among `fakes` ids that name nothing. */
const idList = (fakes: number) =>
  [...made, ...Array.from({ length: fakes }, () => randomUUID())].sort().join(',');

const linkOf = (bundle: Bundle, relation: string) => bundle.link?.find((l) => l.relation === relation)?.url;

/** A 200 answer's Bundle. */
async function bundleOf(res: Response): Promise<Bundle> {
  expect(
    res.status,
    await res
      .clone()
      .text()
      .then((t) => t.slice(0, 300)),
  ).toBe(200);
  return (await res.json()) as Bundle;
}

/** Every page from `first` on, following `next` links with GET: the matches' ids per page. */
async function allPages(first: Bundle): Promise<string[][]> {
  const pages: string[][] = [];
  const links: string[] = [];
  let page: Bundle | undefined = first;
  while (page) {
    pages.push((page.entry ?? []).map((e) => e.resource?.id as string));
    links.push(...(page.link ?? []).map((l) => l.url));
    const next = linkOf(page, 'next');
    page = next ? await bundleOf(await fetch(next)) : undefined;
  }
  for (const link of links) {
    expect(link).toMatch(new RegExp(`^${fhir}/Practitioner\\?_saved=${KEY.source}(&|$)`));
    // The criteria are never echoed in a link: none of the ids searched for is in one.
    for (const id of made) expect(link).not.toContain(id);
    expect(link).not.toContain('_id');
  }
  return pages;
}

const postSearch = (form: string) =>
  fetch(`${fhir}/Practitioner/_search`, { method: 'POST', headers: { 'Content-Type': FORM }, body: form });

/** The saved-search key of a POST search's next link. */
async function savedKey(): Promise<string> {
  const first = await bundleOf(await postSearch(`_id=${idList(10)}&_count=2`));
  return new URL(linkOf(first, 'next') as string).searchParams.get('_saved') as string;
}

async function outcomeOf(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  const oo = (await res.json()) as OperationOutcome;
  expect(oo.resourceType).toBe('OperationOutcome');
  return oo.issue;
}

describe('saved searches (_saved) behind the paging links of long searches', () => {
  it('POST _search with an 18 KB form and _count=2 pages to the end through GET next links: each match exactly once', async () => {
    const form = `_id=${idList(500)}&_count=2`;
    expect(form.length).toBeGreaterThan(18_000);
    const first = await bundleOf(await postSearch(form));
    const pages = await allPages(first);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat().sort()).toEqual([...made].sort());
    expect(linkOf(first, 'self')).toMatch(
      new RegExp(`^${fhir}/Practitioner\\?_saved=${KEY.source}&_count=2$`),
    );
  });

  it('a GET search just under the header limit pages on: its next link carries the saved key, not the criteria', async () => {
    const url = (length: number) => {
      const head = `${fhir}/Practitioner?_count=2&_id=${idList(0)}`;
      const fakes: string[] = [];
      while (head.length + fakes.join('').length + 37 * 2 < length) fakes.push(`,${randomUUID()}`);
      const pad = length - head.length - fakes.join('').length - 1;
      return `${head}${fakes.join('')},${'x'.repeat(pad)}`;
    };
    // The longest URL the server takes (Node counts the request line and headers against 16 KB).
    let low = 15_000;
    let high = 16_384;
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if ((await fetch(url(mid))).status === 431) high = mid;
      else low = mid;
    }
    const longest = url(low - 10);
    expect(longest.length).toBeGreaterThan(15_900);
    const pages = await allPages(await bundleOf(await fetch(longest)));
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat().sort()).toEqual([...made].sort());
  });

  it('an unknown key, a key saved for another type and an expired one are 410 Gone naming _saved', async () => {
    const gone = [{ severity: 'error', code: 'not-found', expression: ['_saved'] }];
    const key = await savedKey();
    for (const url of [
      `${fhir}/Practitioner?_saved=${'A'.repeat(22)}`,
      `${fhir}/Practitioner?_saved=not-a-key`,
      `${fhir}/Observation?_saved=${key}`,
    ]) {
      const issues = await outcomeOf(await fetch(url), 410);
      expect(issues).toMatchObject(gone);
      expect(issues?.[0]?.diagnostics).toBe('The saved search has expired; repeat the search');
    }
    expect((await fetch(`${fhir}/Practitioner?_saved=${key}`)).status).toBe(200);
    await fx.store.query(`UPDATE search_saved SET expires_at = now() - interval '1 second' WHERE key = $1`, [
      key,
    ]);
    const issues = await outcomeOf(await fetch(`${fhir}/Practitioner?_saved=${key}&_count=2`), 410);
    expect(issues).toMatchObject(gone);
  });

  it('_saved with other criteria is 400 naming the first of them; paging parameters go with it', async () => {
    const key = await savedKey();
    const mixed = await outcomeOf(await fetch(`${fhir}/Practitioner?_saved=${key}&family=Virtanen`), 400);
    expect(mixed).toEqual([
      {
        severity: 'error',
        code: 'invalid',
        diagnostics:
          '_saved names saved criteria: only _count, _cursor and _offset may go with it (repeat the search to change it)',
        expression: ['family'],
        location: ['family'],
      },
    ]);
    const twice = await outcomeOf(await fetch(`${fhir}/Practitioner?_saved=${key}&_saved=${key}`), 400);
    expect(twice?.[0]).toMatchObject({ code: 'invalid', expression: ['_saved'] });
    const paged = await bundleOf(await fetch(`${fhir}/Practitioner?_saved=${key}&_count=5`));
    expect((paged.entry ?? []).map((e) => e.resource?.id).sort()).toEqual([...made].sort());
  });

  it('a batch GET entry follows _saved; a transaction entry is refused (400 naming it): the transaction holds the store', async () => {
    const key = await savedKey();
    const bundle = (type: string) =>
      fetch(fhir, {
        method: 'POST',
        headers: { 'Content-Type': 'application/fhir+json' },
        body: JSON.stringify({
          resourceType: 'Bundle',
          type,
          entry: [{ request: { method: 'GET', url: `Practitioner?_saved=${key}&_count=5` } }],
        }),
      });
    const batch = await bundleOf(await bundle('batch'));
    expect(batch.entry?.[0]?.response?.status).toBe('200 OK');
    const found = batch.entry?.[0]?.resource as Bundle;
    expect((found.entry ?? []).map((e) => e.resource?.id).sort()).toEqual([...made].sort());
    expect(linkOf(found, 'self')).toBe(`${fhir}/Practitioner?_saved=${key}&_count=5`);
    const issues = await outcomeOf(await bundle('transaction'), 400);
    expect(issues?.[0]).toMatchObject({
      code: 'invalid',
      diagnostics:
        'entry[0]: A saved search (_saved) is not followed inside a transaction; use GET or a batch entry',
      expression: ['Bundle.entry[0].request.url'],
    });
  });
});
