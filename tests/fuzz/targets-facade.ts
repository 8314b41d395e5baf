/**
 * Targets behind a facade listening on a port of this process (PGlite in memory): writes, searches,
 * /api, updates, Kanta PHR mode.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import pino from 'pino';
import { personas } from '../../examples/tools/personas.ts';
import { startServer } from '../../src/server/index.ts';
import { INDEXED_PARAMS, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { judgeAnswer } from './judge.ts';
import { MARKER, pick } from './mutate.ts';
import { ROOT, type Target, fhirSeeds } from './target.ts';

/** A facade as `tyokyky serve` runs it (strict, the project validator), on PGlite in memory. */
export async function facade(
  mode: 'fhir' | 'kanta-phr' = 'fhir',
): Promise<{ base: string; close(): Promise<void> }> {
  const store = await openStore({ dataDir: 'memory://' });
  const running = await startServer({
    store,
    validator: await loadProjectValidator(),
    mode,
    port: 0,
    logger: pino({ level: 'silent' }),
    rateLimit: 1_000_000_000,
  });
  return {
    base: `${running.url}/fhir`,
    close: async () => {
      await running.close();
      await store.close();
    },
  };
}

/** POSTs `input` as a create of its own type (a type name that is not one: Basic), a Bundle to the base. */
function postAsCreate(base: string, input: unknown): Promise<Response> {
  const declared = (input as Resource | undefined)?.resourceType;
  const type = typeof declared === 'string' && /^[A-Z][A-Za-z]+$/.test(declared) ? declared : 'Basic';
  return fetch(type === 'Bundle' ? base : `${base}/${type}`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(input),
  });
}

export const facadeWrite: Target = {
  name: 'facade-write',
  what: 'POSTed resources and transactions get no 5xx; refusals are OperationOutcomes quoting no value',
  async open() {
    const server = await facade();
    return {
      seeds: fhirSeeds(),
      check: async (input) => judgeAnswer(await postAsCreate(server.base, input), input),
      close: () => server.close(),
    };
  },
};

export const facadeValidate: Target = {
  name: 'facade-validate',
  what: '$validate of mutated resources (bare or in a Parameters) answers an OperationOutcome, never a 5xx',
  async open() {
    const server = await facade();
    return {
      seeds: fhirSeeds(),
      input: (mutated, rng) =>
        rng() < 0.3
          ? { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: mutated }] }
          : mutated,
      async check(input) {
        const inner = (input as { parameter?: [{ resource?: Resource }] }).parameter?.[0]?.resource ?? input;
        const declared = (inner as Resource | undefined)?.resourceType;
        const type = typeof declared === 'string' && /^[A-Z][A-Za-z]+$/.test(declared) ? declared : 'Basic';
        const res = await fetch(`${server.base}/${type}/$validate`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify(input),
        });
        // The caller asked to see what is wrong with its own resource: values may be quoted.
        if (res.status !== 200) return judgeAnswer(res, undefined);
        const body = (await res.json()) as Resource;
        return body.resourceType === 'OperationOutcome' ? undefined : `200 without an OperationOutcome`;
      },
      close: () => server.close(),
    };
  },
};

const SEARCH_TYPES = [
  'Patient',
  'Observation',
  'Consent',
  'CarePlan',
  'Goal',
  'CareTeam',
  'AuditEvent',
  'Nope',
];
const SEARCH_NAMES = [
  ...INDEXED_PARAMS,
  '_id',
  '_lastUpdated',
  '_count',
  '_sort',
  '_include',
  '_revinclude',
  '_summary',
  '_elements',
  '_total',
  '_format',
  '_offset',
  'unknown-param',
];
const MODIFIERS = [
  '',
  '',
  '',
  ':exact',
  ':missing',
  ':not',
  ':contains',
  ':text',
  ':above',
  ':of-type',
  ':Patient',
  '.name',
];
const VALUES = [
  '',
  'ge2026',
  'lt2026-13-01',
  'eq2026-02-30T25:00',
  'urn:oid:1.2.246.21|',
  '|',
  'a|b|c',
  'Patient/x',
  'Observation:subject',
  '*',
  '-1',
  '0',
  '99999999999999999999',
  'a,b,,',
  'true',
  '%00',
  '\u0000',
  '\ud800',
  MARKER,
  `urn:oid:1.2.246.21|${MARKER}`,
];

export const facadeSearch: Target = {
  name: 'facade-search',
  what: 'random searches over the personas get no 5xx; a 200 is a searchset Bundle, a refusal an OperationOutcome',
  async open() {
    const server = await facade();
    for (const bundle of readdirSync(join(ROOT, 'examples/personas')))
      await fetch(server.base, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: readFileSync(join(ROOT, 'examples/personas', bundle)),
      });
    return {
      // Searches are made from parameters, not from mutated JSON: the seed only starts the count.
      seeds: [null],
      input(_mutated, rng) {
        const params = Array.from({ length: 1 + Math.floor(rng() * 3) }, (): [string, string] => [
          `${pick(rng, SEARCH_NAMES)}${pick(rng, MODIFIERS)}`,
          pick(rng, VALUES),
        ]);
        return `${pick(rng, SEARCH_TYPES)}?${new URLSearchParams(params)}`;
      },
      async check(input) {
        const res = await fetch(`${server.base}/${input as string}`);
        if (res.status !== 200) return judgeAnswer(res, { query: input });
        const bundle = (await res.json()) as Bundle;
        return bundle.resourceType === 'Bundle' && bundle.type === 'searchset'
          ? undefined
          : '200 without a searchset Bundle';
      },
      close: () => server.close(),
    };
  },
};

export const facadeApi: Target = {
  name: 'facade-api',
  what: 'domain records POSTed to /api/records get no 5xx; refusals are OperationOutcomes quoting no value',
  async open() {
    const server = await facade();
    const api = server.base.replace(/\/fhir$/, '/api');
    return {
      seeds: Object.values(personas),
      async check(input) {
        const res = await fetch(`${api}/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input),
        });
        // The domain API answers in its plain JSON, and refuses as the facade does (docs/server.md).
        return judgeAnswer(res, input, res.status >= 400 ? 'application/fhir+json' : 'application/json');
      },
      close: () => server.close(),
    };
  },
};

/** The personas' transactions through `base` (with a bearer token, if given); what they stored. */
export async function storedPersonas(base: string, token?: string): Promise<Resource[]> {
  const stored: Resource[] = [];
  for (const file of readdirSync(join(ROOT, 'examples/personas')).sort()) {
    const res = await fetch(base, {
      method: 'POST',
      headers: {
        'content-type': 'application/fhir+json',
        prefer: 'return=representation',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: readFileSync(join(ROOT, 'examples/personas', file)),
    });
    const answer = (await res.json()) as Bundle;
    for (const e of answer.entry ?? []) if (e.resource) stored.push(e.resource);
  }
  return stored;
}

const PATCH_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test', 'nope'];
const PATCH_PATHS = [
  '/id',
  '/meta',
  '/meta/versionId',
  '/text/div',
  '/status',
  '/identifier/0/value',
  '/subject',
  '/-',
  '/__proto__/x',
  '',
  '/extension/-',
  '/name/0/family',
];

export const facadeUpdate: Target = {
  name: 'facade-update',
  what: 'PUTs of mutated stored resources and random JSON Patches get no 5xx; refusals quote no value',
  async open() {
    const server = await facade();
    const stored = await storedPersonas(server.base);
    return {
      seeds: stored,
      input(mutated, rng) {
        const target = mutated as Resource;
        const original =
          stored.find((r) => r.resourceType === target?.resourceType && r.id === target?.id) ??
          pick(rng, stored);
        const url = `${original.resourceType}/${original.id}`;
        const ifMatch = pick(rng, [undefined, 'W/"1"', 'W/"999"', '*', 'garbage', `W/"${MARKER}"`]);
        if (rng() < 0.6) return { method: 'PUT', url, ifMatch, body: mutated };
        const ops = Array.from({ length: 1 + Math.floor(rng() * 2) }, () => ({
          op: pick(rng, PATCH_OPS),
          path: pick(rng, PATCH_PATHS),
          from: pick(rng, PATCH_PATHS),
          value: pick(rng, [MARKER, 5, null, { x: MARKER }, ['a']]),
        }));
        return { method: 'PATCH', url, ifMatch, body: ops };
      },
      async check(input) {
        const { method, url, ifMatch, body } = input as {
          method: string;
          url: string;
          ifMatch?: string;
          body: unknown;
        };
        const res = await fetch(`${server.base}/${url}`, {
          method,
          headers: {
            'content-type': method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json',
            ...(ifMatch ? { 'if-match': ifMatch } : {}),
          },
          body: JSON.stringify(body),
        });
        return judgeAnswer(res, body);
      },
      close: () => server.close(),
    };
  },
};

/** Kanta PHR's own examples (single resources; its Bundles are too large to mutate by the thousand). */
const KANTA_EXAMPLES = join(ROOT, 'profiles/kanta-phr/package/example');

export const PHR_PATIENT = {
  resourceType: 'Patient',
  meta: { profile: ['http://phr.kanta.fi/StructureDefinition/fiphr-sd-patient'] },
  language: 'fi',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml" lang="fi">Pseudonyymi</div>' },
  identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0d7c5a52-1b1e-4f57-9d0e-9b7e1c1e6a10' }],
  active: true,
};

export const kantaWrite: Target = {
  name: 'kanta-write',
  what: "Kanta PHR mode: POSTed mutations of Kanta's examples get no 5xx; refusals quote no value",
  async open() {
    const server = await facade('kanta-phr');
    const res = await fetch(`${server.base}/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(PHR_PATIENT),
    });
    const patient = (await res.json()) as Resource;
    const seeds = readdirSync(KANTA_EXAMPLES)
      .filter((f) => f.endsWith('.json') && !f.startsWith('Bundle-'))
      .sort()
      .map((f) =>
        JSON.parse(
          readFileSync(join(KANTA_EXAMPLES, f), 'utf8').replace(
            /"Patient\/[^"]+"/g,
            `"Patient/${patient.id}"`,
          ),
        ),
      );
    return {
      seeds,
      check: async (input) => judgeAnswer(await postAsCreate(server.base, input), input),
      close: () => server.close(),
    };
  },
};
