/**
 * A target behind a secured facade holding the personas (one Patient under turvakielto): receiving
 * parties (`kela`, …) and a reader without the turvakielto scope ask for data along every path that
 * returns resources — searches with `_include`/`_revinclude`/`_total`/paging, type, instance and
 * system history, vread, `$everything`, batch GETs. The oracle is the plain read: a caller may get
 * through any path only the resources a read by id shows it, and a current version only as that read
 * shows it (redacted the same way); a `total` never counts more than it may read.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type Secured, startSecured } from '../security/helpers.ts';
import { type Rng, pick } from './mutate.ts';
import type { Target } from './target.ts';
import { storedPersonas } from './targets-facade.ts';

/** Who asks: parties reading under the clients' consents, and a reader without the turvakielto scope. */
const CALLERS = [
  { id: 'fuzz-kela', party: 'kela' },
  { id: 'fuzz-other-care', party: 'other-health-care' },
  { id: 'fuzz-kuntakokeilu', party: 'kuntakokeilu' },
  { id: 'fuzz-reader' },
] as const;

const TYPES = ['Patient', 'Observation', 'Consent', 'CarePlan', 'Goal', 'CareTeam', 'ServiceRequest'];
const LABEL = 'https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs';

/** What a caller sees by plain reads: `Type/id` → the read's JSON. */
type Visible = Map<string, Resource>;

interface World {
  secured: Secured;
  tokens: Map<string, string>;
  visible: Map<string, Visible>;
  /** Every stored resource, `Type/id`. */
  all: string[];
  patients: string[];
  /** Every stored business identifier, `system|value` (HETUs among them). */
  identifiers: string[];
}

const rand = (rng: Rng, n: number) => 1 + Math.floor(rng() * n);

/** Search parameters that reach other resources or count them, with values naming stored ones. */
function searchParams(rng: Rng, type: string, w: World): URLSearchParams {
  const ref = () => pick(rng, w.all);
  const patient = () => pick(rng, w.patients);
  const pool: Array<() => [string, string]> = [
    () => ['patient', patient()],
    () => ['subject', patient()],
    () => ['_id', ref().split('/')[1] as string],
    () => ['identifier', pick(rng, w.identifiers)],
    () => ['_include', pick(rng, [`${type}:patient`, `${type}:subject`, '*', `${type}:*`])],
    () => ['_include:iterate', '*'],
    () => ['_revinclude', pick(rng, ['Observation:patient', 'Consent:patient', 'CarePlan:subject', '*'])],
    () => ['_total', 'accurate'],
    () => ['_count', String(rand(rng, 3))],
    () => ['_summary', pick(rng, ['count', 'true', 'data'])],
    () => ['_elements', 'id,subject'],
    () => ['_sort', pick(rng, ['-_lastUpdated', '_id', 'date'])],
    () => ['_lastUpdated', 'ge2000-01-01'],
  ];
  return new URLSearchParams(Array.from({ length: rand(rng, 4) }, () => pick(rng, pool)()));
}

/**
 * One request (a path under /fhir), what kind it is (a finding's signature names the kind, not the
 * request) and, for a search, the type whose readable resources bound its `total`.
 */
interface Asked {
  path: string;
  kind: string;
  counts?: string;
}

function request(rng: Rng, w: World): Asked {
  const type = pick(rng, TYPES);
  const some = pick(rng, w.all);
  const patient = pick(rng, w.patients);
  const kinds: Array<() => Asked> = [
    () => {
      const q = searchParams(rng, type, w);
      const includes = [...q.keys()].some((k) => k.startsWith('_include') || k === '_revinclude');
      const kind = includes ? 'a search with _include/_revinclude' : 'a search';
      return { path: `/${type}?${q}`, kind, counts: `${type}/` };
    },
    () => ({ path: `/${type}/_history?_count=${rand(rng, 5)}`, kind: 'type history' }),
    () => ({ path: `/_history?_count=${rand(rng, 5)}`, kind: 'system history' }),
    () => ({ path: `/${some}/_history`, kind: 'instance history' }),
    () => ({ path: `/${some}/_history/1`, kind: 'vread' }),
    () => ({
      path: `/${patient}/$everything${rng() < 0.5 ? `?_count=${rand(rng, 4)}` : ''}`,
      kind: '$everything',
      counts: '',
    }),
  ];
  return pick(rng, kinds)();
}

/** Every resource an answer carries (in a batch answer, in its entries' Bundles too). */
function carried(body: Bundle | Resource, out: Resource[] = []): Resource[] {
  if (body.resourceType !== 'Bundle') {
    if (body.resourceType !== 'OperationOutcome') out.push(body);
    return out;
  }
  for (const e of (body as Bundle).entry ?? [])
    if (e.resource?.resourceType === 'Bundle') carried(e.resource, out);
    else if (e.resource && e.resource.resourceType !== 'OperationOutcome') out.push(e.resource);
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const redacted = (r: Resource) => r.meta?.security?.some((c) => c.code === 'REDACTED') ?? false;
/** What turvakielto hides of a Patient, in any version. */
const hides = (r: Resource) =>
  'address' in r || 'telecom' in r || JSON.stringify(r).includes('/municipality-code');

/**
 * What an answer shows `caller` beyond what its reads show, or undefined: a resource its read refuses;
 * the read's version unlike the read (not for `_summary`/`_elements`, which show a part); any version
 * of a Patient whose read is redacted showing what turvakielto hides; a search `total` above the
 * resources of that type (or, for `$everything`, of any type) the caller may read.
 */
function judge(
  w: World,
  caller: string,
  body: Bundle | Resource,
  asked: { kind: string; counts?: string; subset: boolean },
) {
  const { kind } = asked;
  const visible = w.visible.get(caller) as Visible;
  for (const r of carried(body)) {
    const read = visible.get(`${r.resourceType}/${r.id}`);
    if (!read) return `${r.resourceType} a read refuses, through ${kind}`;
    if (!asked.subset && r.meta?.versionId === read.meta?.versionId && !same(r, read))
      return `${r.resourceType} unlike its read, through ${kind}`;
    if (redacted(read) && hides(r)) return `turvakielto data of an earlier version, through ${kind}`;
  }
  return totalAbove(visible, body, asked.counts)
    ? `a total above what the caller may read, through ${kind}`
    : undefined;
}

/** Whether a search answer's `total` counts more resources of `counts` (a `Type/` prefix) than are readable. */
function totalAbove(visible: Visible, body: Bundle | Resource, counts: string | undefined): boolean {
  const total = (body as Bundle).total;
  if (counts === undefined || body.resourceType !== 'Bundle' || typeof total !== 'number') return false;
  return total > [...visible.keys()].filter((k) => k.startsWith(counts)).length;
}

/** Puts the first stored Patient under turvakielto, with an address and a phone for it to hide. */
async function labelTurvakielto(secured: Secured, admin: string, stored: Resource[]): Promise<void> {
  const hidden = stored.find((r) => r.resourceType === 'Patient') as Resource;
  const res = await secured.call(admin, `/Patient/${hidden.id}`, {
    method: 'PUT',
    headers: { 'if-match': `W/"${hidden.meta?.versionId}"` },
    body: JSON.stringify({
      ...hidden,
      meta: { profile: hidden.meta?.profile, security: [{ system: LABEL, code: 'TURVAKIELTO' }] },
      telecom: [{ system: 'phone', value: '+358401234567' }],
      address: [{ line: ['Salainen tie 1'], city: 'Helsinki' }],
    }),
  });
  if (!res.ok) throw new Error(`turvakielto label: ${res.status} ${await res.text()}`);
}

/** What `token` gets by reading each of `refs` by id. */
async function readsOf(secured: Secured, token: string, refs: string[]): Promise<Visible> {
  const seen: Visible = new Map();
  for (const ref of refs) {
    const read = await secured.call(token, `/${ref}`);
    if (read.status === 200) seen.set(ref, (await read.json()) as Resource);
    else await read.arrayBuffer();
  }
  return seen;
}

function identifiersOf(stored: Resource[]): string[] {
  const all = stored.flatMap((r) =>
    [
      (r as { identifier?: { system?: string; value?: string } | { system?: string; value?: string }[] })
        .identifier ?? [],
    ]
      .flat()
      .flatMap((i) => (i.value ? [`${i.system ?? ''}|${i.value}`] : [])),
  );
  return [...new Set(all)];
}

async function world(): Promise<World & { close(): Promise<void> }> {
  const store = await openStore({ dataDir: 'memory://' });
  const secured = await startSecured(store, await loadProjectValidator());
  const admin = await secured.client({ id: 'fuzz-admin', scope: 'system/*.cruds tyokyky/turvakielto.read' });
  const stored = await storedPersonas(secured.fhir, admin.token);
  await labelTurvakielto(secured, admin.token, stored);
  const all = [...new Set(stored.map((r) => `${r.resourceType}/${r.id}`))];
  const tokens = new Map<string, string>();
  const visible = new Map<string, Visible>();
  for (const c of CALLERS) {
    const { token } = await secured.client({ ...c, scope: 'system/*.rs' });
    tokens.set(c.id, token);
    visible.set(c.id, await readsOf(secured, token, all));
  }
  const counts = [...visible.values()].map((v) => v.size);
  // The oracle needs both sides: something each party may read and something it may not.
  if (!counts.some((n) => n > 0) || !counts.some((n) => n < all.length))
    throw new Error(`party fuzz world: reads show ${counts.join('/')} of ${all.length}`);
  return {
    secured,
    tokens,
    visible,
    all,
    patients: all.filter((r) => r.startsWith('Patient/')),
    identifiers: identifiersOf(stored),
    close: async () => {
      await secured.running.close();
      await store.close();
    },
  };
}

/** Parameters that make an answer show part of each resource. */
const SUBSET = /_summary|_elements/;

/** Pages of one answer followed (a search with `_count=1` would otherwise walk the whole store). */
const MAX_PAGES = 3;

/** Judges one answer, and the pages it links to (up to MAX_PAGES). */
async function answered(
  w: World,
  token: string,
  caller: string,
  res: Response,
  asked: { kind: string; counts?: string; subset: boolean },
  pages = 1,
): Promise<string | undefined> {
  if (res.status >= 500) return `${res.status} through ${asked.kind}`;
  const body = (await res.json()) as Bundle | Resource;
  if (res.status !== 200)
    return body.resourceType === 'OperationOutcome' ? undefined : `${res.status} without an OperationOutcome`;
  const found = judge(w, caller, body, asked);
  const next = (body as Bundle).link?.find((l) => l.relation === 'next')?.url;
  if (found || !next || pages >= MAX_PAGES) return found;
  const page = await w.secured.call(token, next);
  return answered(w, token, caller, page, { ...asked, kind: `${asked.kind}, a next page` }, pages + 1);
}

/** The requests as GET entries of one batch: every entry's answer judged as the request's own would be. */
async function batchOf(w: World, token: string, caller: string, asked: Asked[]) {
  const res = await w.secured.call(token, '', {
    method: 'POST',
    body: JSON.stringify({
      resourceType: 'Bundle',
      type: 'batch',
      entry: asked.map((a) => ({ request: { method: 'GET', url: a.path.slice(1) } })),
    }),
  });
  if (res.status !== 200) return answered(w, token, caller, res, { kind: 'a batch of GETs', subset: false });
  const body = (await res.json()) as Bundle;
  const found = judge(w, caller, body, {
    kind: 'a batch of GETs',
    subset: asked.some((a) => SUBSET.test(a.path)),
  });
  // A total inside the batch answer is an entry's: each is bounded by its own request.
  const visible = w.visible.get(caller) as Visible;
  const above = asked.findIndex((a, i) => {
    const entry = body.entry?.[i]?.resource;
    return entry !== undefined && totalAbove(visible, entry, a.counts);
  });
  return (
    found ??
    (above >= 0
      ? `a total above what the caller may read, through a batch entry (${asked[above]?.kind})`
      : undefined)
  );
}

export const facadeParty: Target = {
  name: 'facade-party',
  what: 'a receiving party (or a reader without turvakielto) gets through searches, includes, history, $everything and batches only what its reads show',
  async open() {
    const w = await world();
    return {
      seeds: [null],
      input(_mutated, rng) {
        const caller = pick(rng, CALLERS).id;
        const asked = Array.from({ length: rng() < 0.2 ? rand(rng, 3) : 1 }, () => request(rng, w));
        return { caller, asked };
      },
      async check(input) {
        const { caller, asked } = input as { caller: string; asked: Asked[] };
        const token = w.tokens.get(caller) as string;
        if (asked.length > 1) return batchOf(w, token, caller, asked);
        const [one] = asked as [Asked];
        return answered(w, token, caller, await w.secured.call(token, one.path), {
          ...one,
          subset: SUBSET.test(one.path),
        });
      },
      close: () => w.close(),
    };
  },
};
