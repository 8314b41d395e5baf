import { type IncomingMessage, request } from 'node:http';
import type {
  Address,
  AuditEvent,
  Bundle,
  CapabilityStatement,
  Consent,
  Observation,
  OperationOutcome,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { SignJWT, UnsecuredJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finnishDay } from '../../src/domain/index.ts';
import { canonical, localIdSystem } from '../../src/mapping/index.ts';
import { everythingTypes } from '../../src/server/fhir/everything.ts';
import type { FacadeStore, FacadeValidator } from '../../src/server/ports.ts';
import { addClient } from '../../src/server/security/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { persona } from '../server/personas.ts';
import { type Secured, assertion, clientKey, requestToken, startSecured } from './helpers.ts';

const ADMIN = 'system/*.cruds';
const AUDIT = 'system/AuditEvent.rs';
const HETU = 'urn:oid:1.2.246.21';

const diagnostics = async (res: Response) =>
  ((await res.json()) as OperationOutcome).issue?.map((i) => i.diagnostics).join(' | ') ?? '';

/** The security suite on a store opened by `open` (PGlite or PostgreSQL). */
export function securitySuite(
  engine: string,
  open: () => Promise<{ store: FacadeStore; close(): Promise<void> }>,
): void {
  describe(`security on ${engine}`, () => {
    let db: { store: FacadeStore; close(): Promise<void> };
    let validator: FacadeValidator;
    let s: Secured;
    let admin: string;
    let auditor: string;
    /** Local ids by `Type/business-urn` of the loaded personas. */
    const ids = new Map<string, string>();
    const suviId = (type: string) => ids.get(`${type}|suvi`) as string;
    /** A new Observation (its own business identifier) made from Suvi's, about the Patient `patientId`. */
    const observationAbout = async (patientId: string): Promise<string> => {
      const stored = (await (
        await s.call(admin, `/Observation/${suviId('Observation')}`)
      ).json()) as Observation;
      const { id: _id, meta, ...body } = stored;
      return JSON.stringify({
        ...body,
        meta: { profile: meta?.profile },
        identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` }],
        subject: { reference: `Patient/${patientId}` },
      });
    };

    /** A client's HETU (FI Base's system), read by the admin. */
    const hetuOf = async (patientId: string): Promise<string> => {
      const p = (await (await s.call(admin, `/Patient/${patientId}`)).json()) as Patient;
      return p.identifier?.find((i) => i.system === HETU)?.value as string;
    };
    /** Maija's Patient made into a new one with the HETU `hetu` (and identifiers of its own), unsaved. */
    const patientWithHetu = async (hetu: string): Promise<string> => {
      const maijaId = ids.get('Patient|maija') as string;
      const own = await hetuOf(maijaId);
      const stored = (await (await s.call(admin, `/Patient/${maijaId}`)).json()) as Patient;
      const { id: _id, meta, ...body } = JSON.parse(JSON.stringify(stored).replaceAll(own, hetu)) as Patient;
      return JSON.stringify({
        ...body,
        meta: { profile: meta?.profile },
        identifier: body.identifier?.map((i) =>
          i.system === HETU
            ? i
            : i.system === 'urn:ietf:rfc:3986'
              ? { ...i, value: `urn:uuid:${crypto.randomUUID()}` }
              : { ...i, value: crypto.randomUUID() },
        ),
      });
    };
    /** A HETU (valid check character) that no record here has. */
    const ABSENT_HETU = '150550-9176';

    beforeAll(async () => {
      [db, validator] = await Promise.all([
        open(),
        loadProjectValidator() as unknown as Promise<FacadeValidator>,
      ]);
      s = await startSecured(db.store, validator);
      admin = (await s.client({ id: 'admin', scope: `${ADMIN} ${AUDIT} tyokyky/turvakielto.read` })).token;
      auditor = (await s.client({ id: 'auditor', scope: AUDIT })).token;
      for (const name of ['suvi', 'maija']) {
        const res = await s.call(admin, '', { method: 'POST', body: JSON.stringify(persona(name)) });
        expect(res.status).toBe(200);
        const out = (await res.json()) as Bundle;
        for (const e of out.entry ?? []) {
          const [type, id] = (e.response?.location ?? '').slice(s.fhir.length + 1).split('/') as [
            string,
            string,
          ];
          ids.set(`${type}|${name}|${id}`, id);
          if (!ids.has(`${type}|${name}`)) ids.set(`${type}|${name}`, id);
        }
      }
    }, 120_000);
    afterAll(async () => {
      await s?.running.close();
      await db?.close();
    });

    describe('authentication', () => {
      it('refuses a request without a token with 401, WWW-Authenticate and an OperationOutcome, and audits it', async () => {
        const res = await s.call(undefined, `/Patient/${suviId('Patient')}`);
        expect(res.status).toBe(401);
        // RFC 6750 §3.1: no credentials, no error code.
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tyokyky-fhir"');
        expect(await diagnostics(res)).toMatch(/^sec-auth-1: /);
        const log = await s.call(auditor, '/AuditEvent?agent=unauthenticated&entity-type=Patient');
        const bundle = (await log.json()) as Bundle;
        expect(bundle.entry?.some((e) => (e.resource as { outcome?: string }).outcome === '4')).toBe(true);
      });

      it('reads the Authorization scheme without regard to case (RFC 7235 §2.1), and nothing but Bearer', async () => {
        const call = (authorization: string) =>
          fetch(`${s.fhir}/Patient/${suviId('Patient')}`, { headers: { authorization } });
        for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR'])
          expect((await call(`${scheme} ${admin}`)).status, scheme).toBe(200);
        expect((await call(`bearer   ${admin}`)).status).toBe(200);
        for (const header of ['Basic x', `Basic ${admin}`, `Bearer${admin}`, 'Bearer ', `Token ${admin}`]) {
          const res = await call(header);
          expect(res.status, header).toBe(401);
          expect(await diagnostics(res)).toBe('sec-auth-1: a Bearer access token is required');
        }
      });

      it('answers metadata and SMART discovery without a token', async () => {
        const metadata = await s.call(undefined, '/metadata');
        expect(metadata.status).toBe(200);
        const rest = ((await metadata.json()) as CapabilityStatement).rest?.[0];
        expect(rest?.security?.service?.[0]?.coding?.[0]?.code).toBe('SMART-on-FHIR');
        expect(rest?.security?.extension?.[0]?.extension).toEqual([
          { url: 'token', valueUri: `${s.url}/auth/token` },
        ]);
        const audit = rest?.resource?.find((r) => r.type === 'AuditEvent');
        expect(audit?.interaction?.map((i) => i.code)).toEqual(['read', 'search-type']);
        const conf = (await (await fetch(`${s.url}/.well-known/smart-configuration`)).json()) as Record<
          string,
          unknown
        >;
        expect(conf.token_endpoint).toBe(`${s.url}/auth/token`);
        expect(conf.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt']);
        expect(conf.scopes_supported).toEqual([
          'system/*.cruds',
          'system/*.rs',
          'system/AuditEvent.rs',
          'tyokyky/turvakielto.read',
          'tyokyky/sync.operate',
        ]);
      });

      it.each([
        ['expired', async () => sign({ exp: Math.floor(Date.now() / 1000) - 120 })],
        ['wrong aud', async () => sign({ aud: 'https://other.example/fhir' })],
        ['wrong iss', async () => sign({ iss: 'https://evil.example/auth' })],
        [
          'alg none',
          async () =>
            new UnsecuredJWT({ scope: ADMIN, sub: 'admin', client_id: 'admin' })
              .setIssuer(`${s.url}/auth`)
              .setAudience(`${s.fhir}`)
              .setExpirationTime('5m')
              .encode(),
        ],
        [
          'tampered payload',
          async () => {
            const [h, , sig] = admin.split('.');
            const claims = JSON.parse(Buffer.from(admin.split('.')[1] as string, 'base64url').toString());
            const forged = Buffer.from(
              JSON.stringify({ ...claims, scope: `${ADMIN} ${AUDIT}`, client_id: 'root' }),
            ).toString('base64url');
            return `${h}.${forged}.${sig}`;
          },
        ],
        ['unknown kid', async () => sign({}, true)],
      ])('refuses an access token: %s', async (_name, make) => {
        const res = await s.call(await make(), `/Patient/${suviId('Patient')}`);
        expect(res.status).toBe(401);
        expect(await diagnostics(res)).toMatch(/^sec-auth-2: the access token was rejected/);
      });

      /** An access token signed with a key the server does not know (or claims changed). */
      async function sign(claims: Record<string, unknown>, ownKey = true): Promise<string> {
        const { privateKey } = await generateKeyPair('ES384');
        const now = Math.floor(Date.now() / 1000);
        const base = {
          iss: `${s.url}/auth`,
          aud: s.fhir,
          sub: 'admin',
          client_id: 'admin',
          scope: ADMIN,
          exp: now + 300,
        };
        // A forged token can only be signed with some other key: either unknown kid or real kid.
        return new SignJWT({ ...base, ...claims })
          .setProtectedHeader({ alg: 'ES384', kid: ownKey ? 'not-a-known-kid' : 'x' })
          .sign(privateKey);
      }

      it('refuses a replayed client assertion (same jti), an unknown client and a scope beyond registration', async () => {
        const { key } = await s.client({ id: 'replayer', scope: 'system/Patient.rs' });
        const tokenUrl = `${s.url}/auth/token`;
        const once = await assertion('replayer', key, tokenUrl, { jti: 'fixed-jti' });
        expect((await requestToken(s.url, once)).status).toBe(200);
        const again = await requestToken(s.url, once);
        expect(again.status).toBe(401);
        expect(await again.json()).toMatchObject({
          error: 'invalid_client',
          error_description: 'client assertion jti was already used',
        });
        // Unknown client, a known client's kid with some other key, a kid it never registered: one
        // answer, so that without a client's key its id cannot be told registered or not.
        const other = await clientKey();
        const notVerified = [
          await assertion('nobody', key, tokenUrl),
          await assertion('replayer', { ...other, kid: key.kid }, tokenUrl),
          await assertion('replayer', other, tokenUrl),
        ];
        for (const a of notVerified) {
          const refused = await requestToken(s.url, a);
          expect(refused.status).toBe(401);
          expect(await refused.json()).toEqual({
            error: 'invalid_client',
            error_description:
              'client assertion not verified: unknown client, or no key registered for it verifies the signature',
          });
        }
        const wide = await requestToken(
          s.url,
          await assertion('replayer', key, tokenUrl),
          'system/Patient.cruds',
        );
        expect(wide.status).toBe(400);
        expect(await wide.json()).toMatchObject({ error: 'invalid_scope' });
        const wrongAud = await requestToken(
          s.url,
          await assertion('replayer', key, 'https://other.example/token'),
        );
        expect(await wrongAud.json()).toEqual({
          error: 'invalid_client',
          error_description: 'client assertion rejected: ERR_JWT_CLAIM_VALIDATION_FAILED',
        });
      });
    });

    describe('scopes', () => {
      it('lets system/Observation.rs read and search Observations but not create them, nor read Patients', async () => {
        const { token } = await s.client({ id: 'obs-reader', scope: 'system/Observation.rs' });
        expect((await s.call(token, `/Observation/${suviId('Observation')}`)).status).toBe(200);
        expect((await s.call(token, '/Observation?_count=1')).status).toBe(200);
        const create = await s.call(token, '/Observation', { method: 'POST', body: '{}' });
        expect(create.status).toBe(403);
        expect(create.headers.get('www-authenticate')).toBe(
          'Bearer realm="tyokyky-fhir", error="insufficient_scope"',
        );
        expect(await diagnostics(create)).toMatch(/^sec-scope-1: /);
        expect((await s.call(token, `/Patient/${suviId('Patient')}`)).status).toBe(403);
        expect((await s.call(token, `/Observation/${suviId('Observation')}/_history`)).status).toBe(200);
        const patch = await s.call(token, `/Observation/${suviId('Observation')}`, {
          method: 'PATCH',
          body: '[]',
          headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
        });
        expect(patch.status).toBe(403);
        expect(await diagnostics(patch)).toMatch(/^sec-scope-1: /);
      });

      it('a PATCH reads its target (it answers with it, and a test op tells its values): an update-only scope cannot PATCH', async () => {
        const created = await s.call(admin, '/Observation', {
          method: 'POST',
          body: await observationAbout(suviId('Patient')),
        });
        expect(created.status, await created.clone().text()).toBe(201);
        const obs = (await created.json()) as Observation;
        const path = `/Observation/${obs.id}`;
        const patch = (ops: unknown[]): RequestInit => ({
          method: 'PATCH',
          body: JSON.stringify(ops),
          headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
        });
        const guess = [{ op: 'test', path: '/status', value: obs.status }];
        for (const scope of ['system/Observation.cud', 'system/Observation.write']) {
          const { token } = await s.client({ id: `patch-${scope.split('.')[1]}`, scope });
          for (const ops of [[], guess]) {
            const res = await s.call(token, path, patch(ops));
            expect([scope, ops.length, res.status]).toEqual([scope, ops.length, 403]);
            expect(await diagnostics(res)).toMatch(/^sec-scope-1: /);
          }
          // The same entry in a batch is refused with the whole Bundle, nothing processed.
          const batch = await s.call(token, '', {
            method: 'POST',
            body: JSON.stringify({
              resourceType: 'Bundle',
              type: 'batch',
              entry: [
                {
                  resource: {
                    resourceType: 'Binary',
                    contentType: 'application/json-patch+json',
                    data: Buffer.from(JSON.stringify(guess)).toString('base64'),
                  },
                  request: { method: 'PATCH', url: `Observation/${obs.id}` },
                },
              ],
            }),
          });
          expect([scope, batch.status]).toEqual([scope, 403]);
          expect(await diagnostics(batch)).toMatch(/^sec-scope-2: /);
        }
        const { token: full } = await s.client({ id: 'patch-cruds', scope: 'system/Observation.cruds' });
        const res = await s.call(full, path, patch(guess));
        expect(res.status, await res.clone().text()).toBe(200);
        expect(((await res.json()) as Observation).id).toBe(obs.id);
      });

      it('a delete refused as still referenced names only referrers of types the caller may read', async () => {
        const patient = `/Patient/${suviId('Patient')}`;
        const { token } = await s.client({ id: 'patient-deleter', scope: 'system/Patient.rd' });
        const narrow = await s.call(token, patient, { method: 'DELETE' });
        expect(narrow.status).toBe(409);
        const told = await diagnostics(narrow);
        expect(told).toContain('still referenced by resources outside your read scopes');
        expect(told).not.toMatch(/(Observation|Consent|CarePlan|Goal|CareTeam)\//);
        const wide = await s.client({
          id: 'patient-obs-deleter',
          scope: 'system/Patient.rd system/Observation.r',
        });
        const named = await diagnostics(await s.call(wide.token, patient, { method: 'DELETE' }));
        expect(named).toContain(`Observation/${suviId('Observation')}`);
        expect(named).toContain('resources outside your read scopes');
        expect((await s.call(admin, patient)).status).toBe(200);
      });

      it('a conditional update needs search, update and create on the type', async () => {
        const body = persona('suvi').entry?.find(
          (e) => e.resource?.resourceType === 'Practitioner',
        )?.resource;
        const url =
          '/Practitioner?identifier=urn:ietf:rfc:3986|urn:uuid:00000000-0000-4000-8000-00000000c0de';
        for (const scope of ['system/Practitioner.u', 'system/Practitioner.cu', 'system/Practitioner.us']) {
          const { token } = await s.client({ id: `cond-${scope.split('.')[1]}`, scope });
          const res = await s.call(token, url, { method: 'PUT', body: JSON.stringify(body) });
          expect([scope, res.status]).toEqual([scope, 403]);
          expect(await diagnostics(res)).toMatch(/^sec-scope-1: /);
        }
      });

      it('accepts v1 scopes: system/*.read reads but does not write', async () => {
        const { token } = await s.client({ id: 'v1-reader', scope: 'system/*.read' });
        expect((await s.call(token, `/Patient/${suviId('Patient')}`)).status).toBe(200);
        expect((await s.call(token, `/Patient/${suviId('Patient')}`, { method: 'DELETE' })).status).toBe(403);
        expect((await s.call(token, '/AuditEvent')).status).toBe(403);
      });

      it('refuses a whole transaction when one entry is outside the scopes, writing nothing', async () => {
        const { token } = await s.client({ id: 'obs-writer', scope: 'system/Observation.crus' });
        const marker = `urn:uuid:${crypto.randomUUID()}`;
        const bundle: Bundle = {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { request: { method: 'GET', url: `Observation?identifier=${marker}` } },
            { request: { method: 'DELETE', url: `Patient/${suviId('Patient')}` } },
          ],
        };
        const res = await s.call(token, '', { method: 'POST', body: JSON.stringify(bundle) });
        expect(res.status).toBe(403);
        const oo = (await res.json()) as OperationOutcome;
        expect(oo.issue?.[0]?.expression).toEqual(['Bundle.entry[1].request']);
        expect(oo.issue?.[0]?.diagnostics).toMatch(
          /^sec-scope-2: entry 1 \(DELETE Patient\/.+\) is outside the granted scopes/,
        );
        expect((await s.call(admin, `/Patient/${suviId('Patient')}`)).status).toBe(200);
      });

      it("a transaction is judged as the handler reads it: a byte-order mark or another charset is no way past the entries' scopes", async () => {
        const { token } = await s.client({ id: 'bom-writer', scope: 'system/Observation.crus' });
        const bundle = JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ request: { method: 'DELETE', url: `Patient/${suviId('Patient')}` } }],
        });
        for (const [body, contentType] of [
          [`\uFEFF${bundle}`, 'application/fhir+json'],
          [Buffer.from(bundle, 'utf16le'), 'application/fhir+json; charset=utf-16le'],
        ] as const) {
          const res = await s.call(token, '', {
            method: 'POST',
            body,
            headers: { 'content-type': contentType },
          });
          expect(res.status, contentType).toBe(403);
          expect(await diagnostics(res)).toMatch(/^sec-scope-2: entry 0 \(DELETE Patient\/.+\) is outside/);
        }
        expect((await s.call(admin, `/Patient/${suviId('Patient')}`)).status).toBe(200);
      });

      it('a transaction the front refuses as unreadable is audited like every other refused request', async () => {
        const { token } = await s.client({ id: 'garbled-writer', scope: 'system/Observation.crus' });
        const res = await s.call(token, '', { method: 'POST', body: '{"resourceType":"Bundle",' });
        expect(res.status).toBe(400);
        const log = (await (await s.call(auditor, '/AuditEvent?agent=garbled-writer')).json()) as Bundle;
        expect(log.entry?.map((e) => (e.resource as AuditEvent).outcome)).toEqual(['4']);
      });

      it('paths are matched as written: /FHIR, /API or /Disclosures in capitals are no way around the scopes', async () => {
        const { token } = await s.client({ id: 'case-reader', scope: 'system/Observation.rs' });
        const origin = s.fhir.slice(0, -'/fhir'.length);
        const body = await observationAbout(suviId('Patient'));
        for (const [method, path, sent] of [
          ['POST', '/FHIR/Observation', body],
          ['GET', '/FHIR/_history', undefined],
          ['POST', '/API/organizations', '{}'],
          ['GET', `/api/clients/suvi/Disclosures`, undefined],
          ['GET', `/API/clients/suvi/disclosures`, undefined],
        ] as const) {
          const res = await s.call(token, `${origin}${path}`, { method, ...(sent ? { body: sent } : {}) });
          expect([403, 404], `${method} ${path}`).toContain(res.status);
        }
        const identifier = (JSON.parse(body) as Observation).identifier?.[0]?.value as string;
        const stored = await s.call(admin, `/Observation?identifier=${encodeURIComponent(identifier)}`);
        expect(((await stored.json()) as Bundle).entry ?? []).toEqual([]);
      });

      it('a conditional reference is a search of its target type: without search permission there it is refused, whether or not it matches', async () => {
        const { token } = await s.client({ id: 'obs-creator', scope: 'system/Observation.c' });
        const obs = (await (
          await s.call(admin, `/Observation/${suviId('Observation')}`)
        ).json()) as Observation;
        const suvi = (await (await s.call(admin, `/Patient/${suviId('Patient')}`)).json()) as Patient;
        const hetu = suvi.identifier?.find((i) => i.system === 'urn:oid:1.2.246.21')?.value as string;
        const { id: _id, meta, ...body } = obs;
        const attempt = (value: string) =>
          s.call(token, '', {
            method: 'POST',
            body: JSON.stringify({
              resourceType: 'Bundle',
              type: 'transaction',
              entry: [
                {
                  resource: {
                    ...body,
                    meta: { profile: meta?.profile },
                    identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` }],
                    subject: { reference: `Patient?identifier=urn:oid:1.2.246.21|${value}` },
                  },
                  request: { method: 'POST', url: 'Observation' },
                },
              ],
            }),
          });
        // Without the check, a match (200) and no match (400) told this client which HETUs are clients here.
        for (const value of [hetu, '010101A0000']) {
          const res = await attempt(value);
          expect(res.status).toBe(403);
          const text = await diagnostics(res);
          expect(text).toBe('sec-scope-1: searching Patient needs search permission on Patient');
          expect(text).not.toContain(value);
        }
      });

      it("a batch's GET entries need what the same GET needs over HTTP (history and metadata included)", async () => {
        const { token } = await s.client({ id: 'obs-history-reader', scope: 'system/Observation.rs' });
        const batch = (...urls: string[]): Bundle => ({
          resourceType: 'Bundle',
          type: 'batch',
          entry: urls.map((url) => ({ request: { method: 'GET', url } })),
        });
        const allowed = await s.call(token, '', {
          method: 'POST',
          body: JSON.stringify(batch(`Observation/${suviId('Observation')}/_history`, 'metadata')),
        });
        expect(allowed.status).toBe(200);
        const answers = ((await allowed.json()) as Bundle).entry?.map((e) => e.resource?.resourceType);
        expect(answers).toEqual(['Bundle', 'CapabilityStatement']);
        const refused = await s.call(token, '', {
          method: 'POST',
          body: JSON.stringify(batch('Observation?_count=1', 'Patient/_history')),
        });
        expect(refused.status).toBe(403);
        expect(await diagnostics(refused)).toMatch(
          /^sec-scope-2: entry 1 \(GET Patient\/_history\) is outside/,
        );
      });

      it('$validate?mode=delete needs what a DELETE needs, and deletes nothing', async () => {
        const path = `/Patient/${suviId('Patient')}/$validate?mode=delete`;
        const { token: reader } = await s.client({ id: 'patient-reader', scope: 'system/Patient.rs' });
        expect((await s.call(reader, path, { method: 'POST' })).status).toBe(403);
        // The query as the handler reads it: percent-encoded, repeated, or in a batch entry.
        for (const q of ['mo%64e=delete', 'mode=profile&mode=delete'])
          expect((await s.call(reader, path.replace('mode=delete', q))).status, q).toBe(403);
        const inBatch = await s.call(reader, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [
              { request: { method: 'GET', url: `${path.slice(1)}`.replace('mode=delete', 'mo%64e=delete') } },
            ],
          }),
        });
        expect(inBatch.status).toBe(403);
        const { token: deleter } = await s.client({ id: 'patient-deleter', scope: 'system/Patient.rd' });
        const res = await s.call(deleter, path, { method: 'POST' });
        expect(res.status).toBe(200);
        // Suvi's records refer to her Patient: a DELETE would be refused, and the answer says so.
        const oo = (await res.json()) as OperationOutcome;
        expect(oo.issue?.[0]).toMatchObject({ severity: 'error', code: 'conflict' });
        expect((await s.call(admin, `/Patient/${suviId('Patient')}`)).status).toBe(200);
      });

      it('_include returns only types the caller may read; a chained search needs search permission on the type it looks into', async () => {
        const { token } = await s.client({ id: 'obs-includer', scope: 'system/Observation.rs' });
        const res = await s.call(
          token,
          `/Observation?_id=${suviId('Observation')}&_include=Observation:patient`,
        );
        expect(res.status).toBe(200);
        const bundle = (await res.json()) as Bundle;
        expect(bundle.entry?.map((e) => `${e.search?.mode} ${e.resource?.resourceType}`)).toEqual([
          'match Observation',
        ]);
        const { token: both } = await s.client({
          id: 'obs-patient-reader',
          scope: 'system/Observation.rs system/Patient.r',
        });
        const withPatient = (await (
          await s.call(both, `/Observation?_id=${suviId('Observation')}&_include=Observation:patient`)
        ).json()) as Bundle;
        expect(withPatient.entry?.map((e) => `${e.search?.mode} ${e.resource?.resourceType}`)).toEqual([
          'match Observation',
          'include Patient',
        ]);
        // Named, or the only served type the reference may name (`subject` → Patient): judged alike.
        for (const chain of [
          'patient.identifier=urn:oid:1.2.246.21|010181-900C',
          'subject.identifier=urn:oid:1.2.246.21|010181-900C',
          'subject.name=S',
        ]) {
          const chained = await s.call(token, `/Observation?${chain}`);
          expect(chained.status, chain).toBe(403);
          expect(await diagnostics(chained)).toBe(
            'sec-scope-1: searching through Patient needs search permission on Patient',
          );
        }
      });

      it('_has needs search permission on the type it looks into, and a receiving party cannot use it', async () => {
        const { token } = await s.client({ id: 'patient-searcher', scope: 'system/Patient.rs' });
        const reverse = await s.call(token, '/Patient?_has:Observation:subject:status=final');
        expect(reverse.status).toBe(403);
        expect(await diagnostics(reverse)).toBe(
          'sec-scope-1: searching through Observation needs search permission on Observation',
        );
        const { token: both } = await s.client({
          id: 'patient-obs-searcher',
          scope: 'system/Patient.rs system/Observation.rs',
        });
        const allowed = (await (
          await s.call(both, `/Patient?_id=${suviId('Patient')}&_has:Observation:subject:status=final`)
        ).json()) as Bundle;
        expect(allowed.entry?.map((e) => e.resource?.id)).toEqual([suviId('Patient')]);
        const { token: kela } = await s.client({ id: 'kela-reverse', scope: 'system/*.rs', party: 'kela' });
        const party = await s.call(kela, '/Patient?_has:Observation:subject:status=final');
        expect(party.status).toBe(403);
        expect(await diagnostics(party)).toBe(
          'sec-consent-4: a receiving party cannot search with _has: it would test data its consent may not show',
        );
      });

      it('a conditional create that matches answers with the stored resource only to a caller who may read it', async () => {
        const stored = (await (
          await s.call(admin, `/Observation/${suviId('Observation')}`)
        ).json()) as Observation;
        const ident = stored.identifier?.find((i) => i.system === 'urn:ietf:rfc:3986') as {
          system: string;
          value: string;
        };
        const { id: _id, meta: _meta, ...body } = stored;
        const post = (token: string) =>
          s.call(token, '/Observation', {
            method: 'POST',
            body: JSON.stringify({ ...body, meta: { profile: stored.meta?.profile } }),
            headers: { 'if-none-exist': `identifier=${ident.system}|${ident.value}` },
          });
        // Search permission besides: a create with If-None-Exist searches (without it, refused before any match).
        const { token: writer } = await s.client({ id: 'obs-write-only', scope: 'system/Observation.cus' });
        const refused = await post(writer);
        expect(refused.status).toBe(403);
        expect(await diagnostics(refused)).toBe(
          'sec-scope-1: a Observation matching the conditional criteria exists; answering with it needs read permission on Observation',
        );
        const { token: readerWriter } = await s.client({
          id: 'obs-read-write',
          scope: 'system/Observation.crus',
        });
        const matched = await post(readerWriter);
        expect(matched.status).toBe(200);
        expect(((await matched.json()) as Observation).id).toBe(stored.id);
      });

      it('a conditional create needs search permission as well: without it the same refusal whether or not the identifier exists', async () => {
        const { token } = await s.client({ id: 'patient-creator', scope: 'system/Patient.c' });
        const existing = await hetuOf(ids.get('Patient|maija') as string);
        const answers: [number, string][] = [];
        for (const hetu of [existing, ABSENT_HETU]) {
          const res = await s.call(token, '/Patient', {
            method: 'POST',
            body: await patientWithHetu(hetu),
            headers: { 'if-none-exist': `identifier=${HETU}|${hetu}` },
          });
          answers.push([res.status, await res.text()]);
        }
        // Before: 403 "a Patient matching the conditional criteria exists" against 201 Created.
        expect(answers[0]).toEqual(answers[1]);
        expect(answers[0]?.[0]).toBe(403);
        expect(
          (JSON.parse(answers[0]?.[1] ?? '{}') as OperationOutcome).issue?.map((i) => i.diagnostics),
        ).toEqual(['sec-scope-1: the granted scopes do not permit this interaction']);
        // The same in a transaction's entry (request.ifNoneExist).
        const inBundle: [number, string][] = [];
        for (const hetu of [existing, ABSENT_HETU]) {
          const res = await s.call(token, '', {
            method: 'POST',
            body: JSON.stringify({
              resourceType: 'Bundle',
              type: 'transaction',
              entry: [
                {
                  resource: JSON.parse(await patientWithHetu(hetu)),
                  request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${HETU}|${hetu}` },
                },
              ],
            }),
          });
          inBundle.push([res.status, await diagnostics(res)]);
        }
        expect(inBundle).toEqual([
          [403, 'sec-scope-2: entry 0 (POST Patient) is outside the granted scopes; nothing was processed'],
          [403, 'sec-scope-2: entry 0 (POST Patient) is outside the granted scopes; nothing was processed'],
        ]);
        const stored = await s.call(
          admin,
          `/Patient?identifier=${encodeURIComponent(`${HETU}|${ABSENT_HETU}`)}`,
        );
        expect(((await stored.json()) as Bundle).entry ?? []).toEqual([]);
      });

      it("a Bundle entry's absolute URL under this server's base is the entry it names; under another base it is refused", async () => {
        const { token } = await s.client({ id: 'absolute-reader', scope: 'system/Observation.rs' });
        const obs = `Observation/${suviId('Observation')}`;
        const batch = (url: string) =>
          s.call(token, '', {
            method: 'POST',
            body: JSON.stringify({
              resourceType: 'Bundle',
              type: 'batch',
              entry: [{ request: { method: 'GET', url } }],
            }),
          });
        const own = await batch(`${s.fhir}/${obs}`);
        expect(own.status).toBe(200);
        const entries = ((await own.json()) as Bundle).entry ?? [];
        expect(entries.map((e) => [e.response?.status, e.resource?.id])).toEqual([
          ['200 OK', suviId('Observation')],
        ]);
        for (const url of [`https://elsewhere.example/fhir/${obs}`, `${s.fhir}x/${obs}`]) {
          const other = await batch(url);
          expect(other.status, url).toBe(403);
          expect(await diagnostics(other)).toBe(
            `sec-scope-2: entry 0 (GET ${url}) is outside the granted scopes; nothing was processed`,
          );
        }
      });

      it('guards the domain API with the scopes of every domain family', async () => {
        const { token } = await s.client({ id: 'obs-only', scope: 'system/Observation.rs' });
        expect((await s.call(token, `${s.url}/api/clients/${suviId('Patient')}/consents`)).status).toBe(403);
      });
    });

    describe('consent-aware reads for a receiving party', () => {
      it("a party's refused reads inside a batch or a transaction are audited, naming what was refused", async () => {
        const { token } = await s.client({
          id: 'pension-prober',
          scope: 'system/*.rs',
          party: 'pension-institution',
        });
        const patient = `Patient/${suviId('Patient')}`;
        const batch = await s.call(token, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [
              { request: { method: 'GET', url: patient } },
              { request: { method: 'GET', url: `${patient}/_history` } },
              { request: { method: 'GET', url: 'Patient/_history' } },
            ],
          }),
        });
        expect(batch.status).toBe(200);
        const statuses = ((await batch.json()) as Bundle).entry?.map((e) => e.response?.status);
        expect(statuses).toEqual(['403 Forbidden', '403 Forbidden', '403 Forbidden']);
        const tx = await s.call(token, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'transaction',
            entry: [{ request: { method: 'GET', url: patient } }],
          }),
        });
        expect(tx.status).toBe(403);
        const log = (await (
          await s.call(admin, '/AuditEvent?agent=pension-prober&entity-type=Patient')
        ).json()) as Bundle;
        const refused = (log.entry ?? [])
          .map((e) => e.resource as AuditEvent)
          .filter((e) => e.outcome === '4');
        expect(refused.map((e) => e.subtype?.[0]?.code).sort()).toEqual([
          'history-instance',
          'history-type',
          'read',
          'read',
        ]);
        for (const e of refused.filter((x) => x.subtype?.[0]?.code !== 'history-type'))
          expect(JSON.stringify(e.entity)).toContain(patient);
        // Searches refused inside a batch (a chain into a type it may not search, _has by a party) too.
        const { token: narrow } = await s.client({
          id: 'chain-prober',
          scope: 'system/Observation.rs system/Goal.rs',
          party: 'kela',
        });
        const searches = await s.call(narrow, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [
              { request: { method: 'GET', url: 'Observation?subject:Patient.gender=female' } },
              { request: { method: 'GET', url: 'Observation?_has:Goal:addresses:lifecycle-status=active' } },
            ],
          }),
        });
        expect(((await searches.json()) as Bundle).entry?.map((e) => e.response?.status)).toEqual([
          '403 Forbidden',
          '403 Forbidden',
        ]);
        const searchLog = (await (
          await s.call(admin, '/AuditEvent?agent=chain-prober&entity-type=Observation')
        ).json()) as Bundle;
        const details = (searchLog.entry ?? [])
          .map((e) => e.resource as AuditEvent)
          .filter((e) => e.outcome === '4')
          .map((e) => e.outcomeDesc ?? '');
        expect(details.map((d) => d.slice(0, 13)).sort()).toEqual(['sec-consent-4', 'sec-scope-1: ']);
      });

      it('a receiving party cannot write consents, which decide its own access (alone or in a transaction)', async () => {
        const { token: kela } = await s.client({ id: 'kela-writer', scope: 'system/*.cruds', party: 'kela' });
        const consent = (await (await s.call(admin, `/Consent/${suviId('Consent')}`)).json()) as Resource;
        const { id: _id, meta, ...body } = consent as Resource & { meta?: { profile?: string[] } };
        const fresh = {
          ...body,
          meta: { profile: meta?.profile },
          identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` }],
        };
        const before = ((await (await s.call(admin, '/Consent?_summary=count')).json()) as Bundle).total;
        const alone = await s.call(kela, '/Consent', { method: 'POST', body: JSON.stringify(fresh) });
        expect(alone.status).toBe(403);
        expect(await diagnostics(alone)).toMatch(
          /^sec-consent-3: a receiving party \(kela\) cannot write consents/,
        );
        const inTx = await s.call(kela, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'transaction',
            entry: [{ resource: fresh, request: { method: 'POST', url: 'Consent' } }],
          }),
        });
        expect(inTx.status).toBe(403);
        const deleted = await s.call(kela, `/Consent/${suviId('Consent')}`, { method: 'DELETE' });
        expect(deleted.status).toBe(403);
        expect(((await (await s.call(admin, '/Consent?_summary=count')).json()) as Bundle).total).toBe(
          before,
        );
      });

      it('a receiving party changes or deletes only what it may read: elsewhere the same refusal as a missing resource', async () => {
        const { token: kela } = await s.client({ id: 'kela-editor', scope: 'system/*.cruds', party: 'kela' });
        const maijaId = ids.get('Patient|maija') as string;
        const maija = await s.call(admin, `/Patient/${maijaId}`);
        const etag = maija.headers.get('etag') as string;
        const body = (await maija.json()) as Patient;
        const withheldText = `sec-consent-1: Patient/${maijaId} is not available to this client`;
        for (const attempt of <RequestInit[]>[
          { method: 'PUT', body: JSON.stringify({ ...body, active: false }), headers: { 'if-match': etag } },
          // A stale If-Match is refused in the same words: no 412 tells that the resource exists.
          { method: 'PUT', body: JSON.stringify(body), headers: { 'if-match': 'W/"99"' } },
          { method: 'DELETE' },
          {
            method: 'PATCH',
            body: JSON.stringify([{ op: 'add', path: '/active', value: false }]),
            headers: { 'content-type': 'application/json-patch+json', 'if-match': etag },
          },
        ]) {
          const res = await s.call(kela, `/Patient/${maijaId}`, attempt);
          expect(res.status, attempt.method).toBe(403);
          expect(await diagnostics(res)).toBe(withheldText);
        }
        // A conditional update finds nothing it may see, and its create meets the withheld match.
        const business = body.identifier?.find((i) => i.system === 'urn:ietf:rfc:3986');
        const { id: _maija, meta, ...unsaved } = body;
        const conditional = await s.call(
          kela,
          `/Patient?identifier=${encodeURIComponent(`${business?.system}|${business?.value}`)}`,
          {
            method: 'PUT',
            body: JSON.stringify({ ...unsaved, meta: { profile: meta?.profile }, active: false }),
            headers: { 'if-match': etag },
          },
        );
        expect([conditional.status, await diagnostics(conditional.clone())]).toEqual([
          403,
          expect.any(String),
        ]);
        expect(await diagnostics(conditional)).not.toContain(maijaId);
        const after = await s.call(admin, `/Patient/${maijaId}`);
        expect(after.headers.get('etag')).toBe(etag);
        // A reference to a Patient it may not see is refused as one to a Patient that does not exist.
        for (const target of [maijaId, '00000000-0000-4000-8000-000000000000']) {
          const res = await s.call(kela, '/Observation', {
            method: 'POST',
            body: await observationAbout(target),
          });
          expect(res.status).toBe(422);
          expect(await diagnostics(res)).toContain(`store-ref-1: Patient/${target} does not exist here`);
        }
        // The same check on the batched create path of any other client.
        const unknown = await s.call(admin, '/Observation', {
          method: 'POST',
          body: await observationAbout('00000000-0000-4000-8000-000000000000'),
        });
        expect(unknown.status).toBe(422);
        // Suvi's assessment is consented to kela: kela may change it.
        const obs = await s.call(kela, `/Observation/${suviId('Observation')}`);
        expect(obs.status).toBe(200);
        const changed = await s.call(kela, `/Observation/${suviId('Observation')}`, {
          method: 'PUT',
          body: JSON.stringify(await obs.json()),
          headers: { 'if-match': obs.headers.get('etag') as string },
        });
        expect(changed.status, await changed.clone().text()).toBe(200);
      });

      it("a resource's history shows a party only the versions a vread would: not one about another client", async () => {
        const { token: kela } = await s.client({ id: 'kela-history', scope: 'system/*.rs', party: 'kela' });
        const maijaId = ids.get('Patient|maija') as string;
        // Filed on Maija (whose data kela may not see), then corrected to Suvi.
        const created = await s.call(admin, '/Observation', {
          method: 'POST',
          body: await observationAbout(maijaId),
        });
        const first = (await created.json()) as Observation;
        expect((await s.call(kela, `/Observation/${first.id}`)).status).toBe(403);
        const moved = await s.call(admin, `/Observation/${first.id}`, {
          method: 'PUT',
          body: JSON.stringify({ ...first, subject: { reference: `Patient/${suviId('Patient')}` } }),
          headers: { 'if-match': 'W/"1"' },
        });
        expect(moved.status).toBe(200);
        expect((await s.call(kela, `/Observation/${first.id}/_history/1`)).status).toBe(403);
        const history = await s.call(kela, `/Observation/${first.id}/_history`);
        expect(history.status).toBe(200);
        const shown = ((await history.json()) as Bundle).entry?.map((e) => e.resource?.meta?.versionId);
        expect(shown).toEqual(['2']);
        expect(
          JSON.stringify(await (await s.call(kela, `/Observation/${first.id}/_history`)).json()),
        ).not.toContain(maijaId);
      });

      it('shows kela only the data classes the client consented to, and nothing of a party without consent', async () => {
        const { token: kela } = await s.client({ id: 'kela-client', scope: 'system/*.rs', party: 'kela' });
        const { token: pension } = await s.client({
          id: 'pension',
          scope: 'system/*.rs',
          party: 'pension-institution',
        });
        // Suvi consented to kela receiving identification and assessments.
        expect((await s.call(kela, `/Patient/${suviId('Patient')}`)).status).toBe(200);
        expect((await s.call(kela, `/Observation/${suviId('Observation')}`)).status).toBe(200);
        // Maija's consent to kela does not cover identification.
        const maijaPatient = await s.call(kela, `/Patient/${ids.get('Patient|maija')}`);
        expect(maijaPatient.status).toBe(403);
        const refusal = await diagnostics(maijaPatient);
        expect(refusal).toBe(
          `sec-consent-1: Patient/${ids.get('Patient|maija')} is not available to this client`,
        );
        // A missing resource is refused in exactly the same words: nothing tells it apart.
        const missing = await s.call(kela, '/Patient/00000000-0000-4000-8000-000000000000');
        expect(missing.status).toBe(403);
        expect(await diagnostics(missing)).toBe(
          'sec-consent-1: Patient/00000000-0000-4000-8000-000000000000 is not available to this client',
        );
        // No consent for pension institutions at all: searches come back empty and without a total.
        const search = (await (await s.call(pension, '/Observation?_total=accurate')).json()) as Bundle;
        expect(search.entry ?? []).toEqual([]);
        expect(search.total).toBeUndefined();
        expect((await s.call(pension, `/Observation/${suviId('Observation')}/_history`)).status).toBe(403);
        const kelaPatients = (await (await s.call(kela, '/Patient')).json()) as Bundle;
        expect(kelaPatients.entry?.map((e) => e.resource?.id)).toEqual([suviId('Patient')]);
      });

      it('a resource labelled restricted (v3 Confidentiality R) reaches no party, whatever the consent', async () => {
        const { token: kela } = await s.client({
          id: 'kela-restricted',
          scope: 'system/*.rs',
          party: 'kela',
        });
        const body = JSON.parse(await observationAbout(suviId('Patient')));
        const label = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
        const created = await s.call(admin, '/Observation', {
          method: 'POST',
          body: JSON.stringify({ ...body, meta: { ...body.meta, security: [label] } }),
        });
        expect(created.status, await created.clone().text()).toBe(201);
        const id = ((await created.json()) as Observation).id as string;
        // Suvi's consent lets kela see her assessments: this one is restricted all the same.
        const read = await s.call(kela, `/Observation/${id}`);
        expect(read.status).toBe(403);
        expect(await diagnostics(read)).toBe(
          `sec-consent-1: Observation/${id} is not available to this client`,
        );
        const search = (await (await s.call(kela, `/Observation?_id=${id}`)).json()) as Bundle;
        expect(search.entry ?? []).toEqual([]);
        // The service's own client is no party: it reads it.
        expect((await s.call(admin, `/Observation/${id}`)).status).toBe(200);
      });

      it('a conditional read tells a party nothing a plain read would not: 304 only where the read is allowed', async () => {
        const { token: kela } = await s.client({
          id: 'kela-conditional',
          scope: 'system/*.rs',
          party: 'kela',
        });
        const any = { headers: { 'if-none-match': '*' } };
        const allowed = await s.call(kela, `/Observation/${suviId('Observation')}`, any);
        expect(allowed.status).toBe(304);
        expect(allowed.headers.get('etag')).toMatch(/^W\/"\d+"$/);
        const refused = await s.call(kela, `/Patient/${ids.get('Patient|maija')}`, any);
        expect(refused.status).toBe(403);
        expect(await diagnostics(refused)).toBe(
          `sec-consent-1: Patient/${ids.get('Patient|maija')} is not available to this client`,
        );
        const missing = await s.call(kela, '/Patient/00000000-0000-4000-8000-000000000000', any);
        expect(missing.status).toBe(403);
      });

      it('_include and _revinclude show a party only what a read would', async () => {
        const { token: kela } = await s.client({ id: 'kela-includer', scope: 'system/*.rs', party: 'kela' });
        const maija = `Patient/${ids.get('Patient|maija')}`;
        const consents = (await (await s.call(kela, '/Consent?_include=Consent:patient')).json()) as Bundle;
        const included = consents.entry
          ?.filter((e) => e.search?.mode === 'include')
          .map((e) => `Patient/${e.resource?.id}`);
        expect(included).toEqual([`Patient/${suviId('Patient')}`]);
        const patients = (await (
          await s.call(kela, '/Patient?_revinclude=Observation:patient')
        ).json()) as Bundle;
        const subjects = new Set(
          patients.entry
            ?.filter((e) => e.search?.mode === 'include')
            .map((e) => (e.resource as Observation).subject?.reference),
        );
        // Maija's consent does not give kela her identification: nothing of hers is shown, not even
        // the data classes it does name (the rule the sync applies to pushes).
        expect([...subjects]).toEqual([`Patient/${suviId('Patient')}`]);
        expect((await s.call(kela, `/Observation/${ids.get('Observation|maija')}`)).status).toBe(403);
        expect((await s.call(kela, `/Consent/${ids.get('Consent|maija')}`)).status).toBe(403);
        expect(JSON.stringify(consents) + JSON.stringify(patients)).not.toContain(maija);
      });

      it('_include and _revinclude start from the matches a party may see only; :iterate is refused it', async () => {
        const { token: kela } = await s.client({
          id: 'kela-include-from',
          scope: 'system/*.rs',
          party: 'kela',
        });
        // Maija's Observations are withheld from kela; the professional who made them is not client data.
        const maijas = [...ids.entries()]
          .filter(([k]) => k.startsWith('Observation|maija|'))
          .map(([, id]) => id);
        const hidden = (await (
          await s.call(kela, `/Observation?_id=${maijas.join(',')}&_include=Observation:performer`)
        ).json()) as Bundle;
        expect(hidden.entry ?? []).toEqual([]);
        // From what kela may see, the same include is followed.
        const shown = (await (
          await s.call(kela, `/Observation?_id=${suviId('Observation')}&_include=Observation:subject`)
        ).json()) as Bundle;
        expect(shown.entry?.map((e) => e.search?.mode)).toEqual(['match', 'include']);
        for (const key of ['_include:iterate', '_revinclude:iterate']) {
          const res = await s.call(
            kela,
            `/PractitionerRole?_revinclude=Observation:performer&${key}=Observation:subject`,
          );
          expect(res.status, key).toBe(403);
          expect(await diagnostics(res)).toBe(
            'sec-consent-4: a receiving party cannot iterate _include/_revinclude: a step would pass through resources its consent may not show',
          );
        }
      });

      it("fills a party's page from the following ones: no short or empty page tells that withheld matches exist", async () => {
        const { token: kela } = await s.client({ id: 'kela-pager', scope: 'system/*.rs', party: 'kela' });
        const all = (await (await s.call(kela, '/Observation?_count=1000')).json()) as Bundle;
        const visible = (all.entry ?? []).map((e) => e.resource?.id);
        expect(visible.length).toBeGreaterThan(1);
        const seen: (string | undefined)[] = [];
        const cursors: string[] = [];
        let path: string | undefined = '/Observation?_count=1&_sort=-_lastUpdated';
        while (path) {
          const page = (await (await s.call(kela, path)).json()) as Bundle;
          const next = page.link?.find((l) => l.relation === 'next')?.url;
          if (next) expect(page.entry, path).toHaveLength(1);
          seen.push(...(page.entry ?? []).map((e) => e.resource?.id));
          cursors.push(...(next ? [new URL(next).searchParams.get('_cursor') as string] : []));
          path = next ? next.slice(next.indexOf('/fhir') + '/fhir'.length) : undefined;
        }
        expect(seen.sort()).toEqual([...visible].sort());
        // A party's cursor names no row: the store's would name the last one a page read, which may be
        // withheld from it (its id and time telling that it exists).
        const everyId = (
          (await (await s.call(admin, '/Observation?_count=1000')).json()) as Bundle
        ).entry?.map((e) => e.resource?.id as string);
        const withheldIds = (everyId ?? []).filter((id) => !visible.includes(id));
        expect(withheldIds.length).toBeGreaterThan(0);
        expect(cursors.length).toBeGreaterThan(0);
        for (const cursor of cursors) {
          const decoded = Buffer.from(cursor, 'base64url').toString('latin1');
          for (const id of [...withheldIds, ...(everyId ?? [])]) expect(decoded).not.toContain(id);
        }
        // Only its own client follows it; anything else is the store's own refusal of a cursor.
        const { token: other } = await s.client({ id: 'kela-other', scope: 'system/*.rs', party: 'kela' });
        for (const [token, cursor] of [
          [other, cursors[0]],
          [kela, 'not-a-cursor'],
        ] as const) {
          const res = await s.call(token, `/Observation?_count=1&_sort=-_lastUpdated&_cursor=${cursor}`);
          expect(res.status).toBe(400);
          expect(await diagnostics(res)).toBe(
            "Invalid value for '_cursor': not a cursor issued by this server",
          );
        }
      });

      // Before the withdrawal below: kela may still read Suvi's data here.
      it("gives a client's disclosure log (luovutusloki): what parties received or were refused, not the service's own use", async () => {
        const clientIdOf = async (patientId: string) => {
          const p = (await (await s.call(admin, `/Patient/${patientId}`)).json()) as Patient;
          return p.identifier?.find((i) => i.system === localIdSystem('client'))?.value as string;
        };
        const [suvi, maija] = [
          await clientIdOf(suviId('Patient')),
          await clientIdOf(ids.get('Patient|maija')!),
        ];
        const { token: kela } = await s.client({ id: 'kela-log', scope: 'system/*.rs', party: 'kela' });
        const { token: own } = await s.client({ id: 'own-use', scope: 'system/Observation.rs' });
        const obs = `Observation/${suviId('Observation')}`;
        expect((await s.call(kela, `/${obs}`)).status).toBe(200);
        expect((await s.call(kela, `/Patient/${ids.get('Patient|maija')}`)).status).toBe(403);
        expect((await s.call(own, `/${obs}`)).status).toBe(200);
        const log = async (token: string, clientId: string, query = '') => {
          const res = await s.call(token, `${s.url}/api/clients/${clientId}/disclosures${query}`);
          expect(res.status, await res.clone().text()).toBe(200);
          const body = (await res.json()) as { client: string; disclosures: Record<string, unknown>[] };
          expect(body.client).toBe(clientId);
          return body.disclosures;
        };
        const suviLog = await log(admin, suvi);
        expect(suviLog.filter((d) => d.recipient === 'kela-log')).toEqual([
          {
            when: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
            party: 'kela',
            recipient: 'kela-log',
            channel: 'api',
            interaction: 'read',
            resources: [obs],
            // Under the consent that permitted kela's read.
            consents: [`Consent/${suviId('Consent')}`],
            outcome: 'disclosed',
          },
        ]);
        // The service's own client is no party: its read is use, not disclosure.
        expect(suviLog.some((d) => d.recipient === 'own-use')).toBe(false);
        // Narrowed by date (days in Finland) and party; a bad parameter is a 400 naming it, the value unquoted.
        const day = finnishDay(String(suviLog.find((d) => d.party === 'kela')?.when));
        const kelaToday = await log(admin, suvi, `?start=${day}&end=${day}&party=kela`);
        expect(kelaToday.length).toBeGreaterThan(0);
        expect(kelaToday.filter((d) => d.party !== 'kela')).toEqual([]);
        expect(kelaToday).toEqual(suviLog.filter((d) => d.party === 'kela'));
        expect(await log(admin, suvi, '?start=2999')).toEqual([]);
        // The widest range a date can name: from the first day of year 1 to the end of 9999.
        expect(await log(admin, suvi, '?start=0001&end=9999')).toEqual(await log(admin, suvi));
        expect(await log(admin, suvi, '?party=te-services')).toEqual([]);
        for (const [query, location, message] of [
          ['start=2026-13', 'start', 'start must be one date such as 2025, 2025-05 or 2025-05-31'],
          ['end=2026&end=2027', 'end', 'end must be one date such as 2025, 2025-05 or 2025-05-31'],
          ['end=2026-02-29', 'end', 'end must be one date such as 2025, 2025-05 or 2025-05-31'],
          ['start=2027&end=2026', 'start', 'start is after end'],
          ['party=kela&party=kela', 'party', 'party must be one receiving party, such as kela'],
          [
            'date=2026',
            'date',
            'Unknown parameter "date" for the disclosure log (supported: start, end, party)',
          ],
        ]) {
          const res = await s.call(admin, `${s.url}/api/clients/${suvi}/disclosures?${query}`);
          expect(res.status, query).toBe(400);
          const outcome = (await res.json()) as OperationOutcome;
          expect(outcome.issue[0]).toMatchObject({ diagnostics: message, expression: [location] });
        }
        const refused = (await log(admin, maija)).filter((d) => d.recipient === 'kela-log');
        expect(refused).toEqual([
          expect.objectContaining({
            party: 'kela',
            outcome: 'refused',
            resources: [`Patient/${ids.get('Patient|maija')}`],
            reason: expect.stringMatching(/^sec-consent-1: /),
          }),
        ]);
        // The log needs the audit scope besides the domain API's; either alone is refused.
        const { token: domainOnly } = await s.client({ id: 'domain-only', scope: 'system/*.rs' });
        for (const token of [domainOnly, auditor]) {
          const res = await s.call(token, `${s.url}/api/clients/${suvi}/disclosures`);
          expect(res.status).toBe(403);
          expect(await diagnostics(res)).toMatch(/^sec-scope-1: /);
        }
        expect((await s.call(admin, `${s.url}/api/clients/no-such-client/disclosures`)).status).toBe(404);
      });

      it("names a party's read in the client's disclosure log when the resource's reference to the client carries a version", async () => {
        const patient = suviId('Patient');
        const body = JSON.parse(await observationAbout(patient)) as Observation;
        body.subject = { reference: `Patient/${patient}/_history/1` };
        const created = await s.call(admin, '/Observation', { method: 'POST', body: JSON.stringify(body) });
        expect(created.status).toBe(201);
        const obs = `Observation/${((await created.json()) as Observation).id}`;
        const { token: kela } = await s.client({ id: 'kela-versioned', scope: 'system/*.rs', party: 'kela' });
        expect((await s.call(kela, `/${obs}`)).status).toBe(200);
        const suvi = (await (await s.call(admin, `/Patient/${patient}`)).json()) as Patient;
        const clientId = suvi.identifier?.find((i) => i.system === localIdSystem('client'))?.value as string;
        const res = await s.call(admin, `${s.url}/api/clients/${clientId}/disclosures`);
        const { disclosures } = (await res.json()) as {
          disclosures: { recipient: string; resources: string[] }[];
        };
        expect(disclosures.filter((d) => d.recipient === 'kela-versioned').map((d) => d.resources)).toEqual([
          [obs],
        ]);
      });

      it('a party cannot page with _offset: an offset counts the matches withheld from it, and so tells which HETUs are here', async () => {
        const { token: kela } = await s.client({ id: 'kela-offset', scope: 'system/*.rs', party: 'kela' });
        const visible = await hetuOf(suviId('Patient'));
        const withheldHetu = await hetuOf(ids.get('Patient|maija') as string);
        const probe = (hetu: string, offset = '_offset') =>
          `/Patient?identifier=${encodeURIComponent(`${HETU}|${hetu},${HETU}|${visible}`)}&_sort=-_lastUpdated&_count=1&${offset}=1`;
        const answers: [number, string][] = [];
        // Maija's HETU (withheld from kela), one nobody has, and the offset under a modifier the store ignores.
        for (const path of [probe(withheldHetu), probe(ABSENT_HETU), probe(withheldHetu, '_offset:x')]) {
          const res = await s.call(kela, path);
          answers.push([res.status, await res.text()]);
        }
        // Before: Suvi's Patient on the page only when the withheld HETU exists.
        expect(answers[1]).toEqual(answers[0]);
        expect(answers[2]).toEqual(answers[0]);
        const outcome = JSON.parse(answers[0]?.[1] ?? '{}') as OperationOutcome;
        expect([answers[0]?.[0], outcome.issue]).toEqual([
          400,
          [
            {
              severity: 'error',
              code: 'forbidden',
              diagnostics:
                'sec-consent-5: a receiving party pages with the next link (_cursor), not _offset: an offset counts matches withheld from it',
              expression: ['_offset'],
              location: ['_offset'],
            },
          ],
        ]);
        // The same in a batch's GET entry; every refusal is audited, naming the rule.
        const batch = await s.call(kela, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [{ request: { method: 'GET', url: probe(ABSENT_HETU).slice(1) } }],
          }),
        });
        expect(((await batch.json()) as Bundle).entry?.map((e) => e.response?.status)).toEqual([
          '400 Bad Request',
        ]);
        const log = (await (await s.call(admin, '/AuditEvent?agent=kela-offset')).json()) as Bundle;
        expect(
          (log.entry ?? []).map((e) => {
            const event = e.resource as AuditEvent;
            return [event.subtype?.[0]?.code, event.outcome, event.outcomeDesc?.slice(0, 14)];
          }),
        ).toEqual(Array(4).fill(['search-type', '4', 'sec-consent-5:']));
        // Paging by the next link goes on as before.
        expect((await s.call(kela, '/Patient?_count=1')).status).toBe(200);
      });

      it("a party cannot chain into client data (a referrer it sees would test a withheld client's content); into a directory it can", async () => {
        const { token: kela } = await s.client({ id: 'kela-chainer', scope: 'system/*.rs', party: 'kela' });
        const maijaId = ids.get('Patient|maija') as string;
        const maijaHetu = await hetuOf(maijaId);
        // A team of Suvi's (her consent shows kela her support plan) with Maija's Patient as a member.
        const team = (await (await s.call(admin, `/CareTeam/${suviId('CareTeam')}`)).json()) as Resource & {
          meta?: { profile?: string[] };
          identifier?: { system?: string; value?: string }[];
          participant?: Record<string, unknown>[];
        };
        const { id: _id, meta, ...body } = team;
        const created = await s.call(admin, '/CareTeam', {
          method: 'POST',
          body: JSON.stringify({
            ...body,
            meta: { profile: meta?.profile },
            identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` }],
            participant: [
              ...(body.participant ?? []),
              { ...body.participant?.[0], member: { reference: `Patient/${maijaId}`, type: 'Patient' } },
            ],
          }),
        });
        expect(created.status, await created.clone().text()).toBe(201);
        const teamId = ((await created.json()) as Resource).id as string;
        const entries = async (res: Response) => {
          expect(res.status, await res.clone().text()).toBe(200);
          return ((await res.json()) as Bundle).entry?.map((e) => e.resource?.id) ?? [];
        };
        // The referrer is visible to kela, the Patient it points at is not.
        expect(await entries(await s.call(kela, `/CareTeam?_id=${teamId}`))).toEqual([teamId]);
        expect((await s.call(kela, `/Patient/${maijaId}`)).status).toBe(403);
        const chained = (param: string, value: string) =>
          `/CareTeam?_id=${teamId}&${encodeURIComponent(param)}=${encodeURIComponent(value)}`;
        const refusal = (param: string) => ({
          severity: 'error',
          code: 'forbidden',
          diagnostics:
            'sec-consent-4: a receiving party cannot search through a chained parameter into client data: it would test data its consent may not show',
          expression: [param],
          location: [param],
        });
        // Right or wrong, with or without the type, a chain of chains: the same refusal, naming the parameter.
        for (const [param, value] of [
          ['participant:Patient.identifier', `${HETU}|${maijaHetu}`],
          ['participant:Patient.identifier', `${HETU}|${ABSENT_HETU}`],
          ['participant:Patient.birthdate', 'ge1900-01-01'],
          ['participant.name', 'M'],
          ['participant:Patient.organization.name', 'H'],
          ['subject:Patient.name', 'S'],
          ['subject.name', 'S'],
        ] as const) {
          const res = await s.call(kela, chained(param, value));
          const text = await res.text();
          expect([res.status, (JSON.parse(text) as OperationOutcome).issue], param).toEqual([
            403,
            [refusal(param)],
          ]);
          expect(text).not.toContain(maijaHetu);
        }
        // POST _search and a batch's GET entry are refused alike.
        const posted = await s.call(kela, '/CareTeam/_search', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            _id: teamId,
            'participant:Patient.identifier': `${HETU}|${maijaHetu}`,
          }).toString(),
        });
        expect(posted.status).toBe(403);
        expect((await posted.json()) as OperationOutcome).toMatchObject({
          issue: [refusal('participant:Patient.identifier')],
        });
        const batch = await s.call(kela, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [{ request: { method: 'GET', url: chained('participant:Patient.name', 'M').slice(1) } }],
          }),
        });
        expect(((await batch.json()) as Bundle).entry?.map((e) => e.response?.status)).toEqual([
          '403 Forbidden',
        ]);
        // Every refusal is audited, naming the rule, never the value.
        const log = (await (
          await s.call(admin, '/AuditEvent?agent=kela-chainer&entity-type=CareTeam')
        ).json()) as Bundle;
        const refused = (log.entry ?? [])
          .map((e) => e.resource as AuditEvent)
          .filter((e) => e.outcome === '4');
        expect(refused.map((e) => [e.subtype?.[0]?.code, e.outcomeDesc?.slice(0, 14)])).toEqual(
          Array(9).fill(['search-type', 'sec-consent-4:']),
        );
        expect(JSON.stringify(log)).not.toContain(maijaHetu);
        // A chain into a directory (Organization: nobody's client data) works for a party.
        const orgName = (
          (await (
            await s.call(admin, `/Consent/${suviId('Consent')}?_elements=organization`)
          ).json()) as Consent
        ).organization?.[0]?.reference as string;
        const org = (await (await s.call(admin, `/${orgName}`)).json()) as { name: string };
        const consent = suviId('Consent');
        expect(
          await entries(
            await s.call(kela, `/Consent?_id=${consent}&organization.name=${encodeURIComponent(org.name)}`),
          ),
        ).toEqual([consent]);
        expect(await entries(await s.call(kela, `/Consent?_id=${consent}&organization.name=Zzz`))).toEqual(
          [],
        );
        // Any other client chains as its scopes allow.
        expect(
          await entries(
            await s.call(admin, chained('participant:Patient.identifier', `${HETU}|${maijaHetu}`)),
          ),
        ).toEqual([teamId]);
        expect(
          await entries(
            await s.call(admin, chained('participant:Patient.identifier', `${HETU}|${ABSENT_HETU}`)),
          ),
        ).toEqual([]);
      });

      it("a party's next link does not tell whether a HETU it cannot see is a client here", async () => {
        const { token: kela } = await s.client({ id: 'kela-next-link', scope: 'system/*.rs', party: 'kela' });
        const visible = await hetuOf(suviId('Patient'));
        const withheldHetu = await hetuOf(ids.get('Patient|maija') as string);
        /** Every page of the search for `visible` or `other`: its entries, and whether it has a next link. */
        const pages = async (other: string, sort: string) => {
          const out: [string[], boolean][] = [];
          const either = `${HETU}|${visible},${HETU}|${other}`;
          let path: string | undefined = `/Patient?identifier=${encodeURIComponent(either)}&_count=1${sort}`;
          while (path && out.length < 5) {
            const page = (await (await s.call(kela, path)).json()) as Bundle;
            const next = page.link?.find((l) => l.relation === 'next')?.url;
            out.push([(page.entry ?? []).map((e) => e.resource?.id as string), next !== undefined]);
            path = next?.slice(next.indexOf('/fhir') + '/fhir'.length);
          }
          return out;
        };
        for (const sort of ['', '&_sort=_lastUpdated', '&_sort=-_lastUpdated']) {
          const absent = await pages(ABSENT_HETU, sort);
          expect(absent, sort).toEqual([[[suviId('Patient')], false]]);
          expect(await pages(withheldHetu, sort), sort).toEqual(absent);
        }
      });

      it("a party's vread of an earlier version is refused once the resource is restricted (v3 Confidentiality R), as its read and history are", async () => {
        const { token: kela } = await s.client({
          id: 'kela-vread-restricted',
          scope: 'system/*.rs',
          party: 'kela',
        });
        const created = await s.call(admin, '/Observation', {
          method: 'POST',
          body: await observationAbout(suviId('Patient')),
        });
        expect(created.status, await created.clone().text()).toBe(201);
        const first = (await created.json()) as Observation;
        const v1 = `/Observation/${first.id}/_history/1`;
        expect((await s.call(kela, v1)).status).toBe(200);
        const label = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
        const restricted = await s.call(admin, `/Observation/${first.id}`, {
          method: 'PUT',
          body: JSON.stringify({ ...first, meta: { ...first.meta, security: [label] } }),
          headers: { 'if-match': 'W/"1"' },
        });
        expect(restricted.status, await restricted.clone().text()).toBe(200);
        const withheldText = `sec-consent-1: Observation/${first.id} is not available to this client`;
        for (const path of [`/Observation/${first.id}`, v1, `/Observation/${first.id}/_history`]) {
          const res = await s.call(kela, path);
          expect([path, res.status, await diagnostics(res)]).toEqual([path, 403, withheldText]);
        }
        const batch = await s.call(kela, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [{ request: { method: 'GET', url: v1.slice(1) } }],
          }),
        });
        expect(((await batch.json()) as Bundle).entry?.map((e) => e.response?.status)).toEqual([
          '403 Forbidden',
        ]);
        // The service's own client reads every version.
        expect((await s.call(admin, v1)).status).toBe(200);
      });

      it('a party cannot write through the domain API (its writes find records by business identifier first); another client can', async () => {
        const { token: kela } = await s.client({ id: 'kela-domain', scope: 'system/*.cruds', party: 'kela' });
        const { token: ehr } = await s.client({ id: 'ehr-domain', scope: 'system/*.cruds' });
        const post = (token: string) =>
          s.call(token, `${s.url}/api/records`, { method: 'POST', body: JSON.stringify({ clients: [] }) });
        const refused = await post(kela);
        expect([refused.status, await diagnostics(refused)]).toEqual([
          403,
          'sec-consent-6: a receiving party (kela) cannot write through the domain API: each write first finds its records by business identifier, and whether one exists may be data its consent does not show',
        ]);
        // Refused before the body is read: another client's same request reaches the domain API.
        expect((await post(ehr)).status).not.toBe(403);
      });

      it('a party cannot create conditionally: whether a match exists may be data its consent does not show', async () => {
        const { token: kela } = await s.client({
          id: 'kela-creator',
          scope: 'system/*.cruds',
          party: 'kela',
        });
        const withheldHetu = await hetuOf(ids.get('Patient|maija') as string);
        const refusal =
          'sec-consent-6: a receiving party (kela) cannot write client data conditionally (If-None-Exist, a conditional update, a create whose business identifier must be new): whether a match exists may be data its consent does not show';
        const answers: [number, string][] = [];
        for (const hetu of [withheldHetu, ABSENT_HETU, await hetuOf(suviId('Patient'))]) {
          const res = await s.call(kela, '/Patient', {
            method: 'POST',
            body: await patientWithHetu(hetu),
            headers: { 'if-none-exist': `identifier=${HETU}|${hetu}` },
          });
          answers.push([res.status, await diagnostics(res)]);
        }
        // Before: 403 "a Patient matching the conditional criteria is not available" against 201 Created.
        expect(answers).toEqual(Array(3).fill([403, refusal]));
        const inBundle = await s.call(kela, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [
              {
                resource: JSON.parse(await patientWithHetu(ABSENT_HETU)),
                request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${HETU}|${ABSENT_HETU}` },
              },
            ],
          }),
        });
        expect([inBundle.status, await diagnostics(inBundle)]).toEqual([403, refusal]);
        const stored = await s.call(
          admin,
          `/Patient?identifier=${encodeURIComponent(`${HETU}|${ABSENT_HETU}`)}`,
        );
        expect(((await stored.json()) as Bundle).entry ?? []).toEqual([]);
        // Practitioners are nobody's client data: a party may still create them conditionally.
        const practitioner = {
          resourceType: 'Practitioner',
          name: [{ family: 'Kelan virkailija' }],
          identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` }],
        };
        const created = await s.call(kela, '/Practitioner', {
          method: 'POST',
          body: JSON.stringify(practitioner),
          headers: { 'if-none-exist': `identifier=urn:ietf:rfc:3986|${practitioner.identifier[0]?.value}` },
        });
        expect(created.status, await created.clone().text()).toBe(201);
      });

      it('withholds the data as soon as the consent is withdrawn', async () => {
        const { token: kela } = await s.client({ id: 'kela-2', scope: 'system/*.rs', party: 'kela' });
        const obs = `/Observation/${suviId('Observation')}`;
        expect((await s.call(kela, obs)).status).toBe(200);
        const consentRes = await s.call(admin, `/Consent/${suviId('Consent')}`);
        const consent = (await consentRes.json()) as Consent;
        const today = new Date().toISOString().slice(0, 10);
        const withdrawn: Consent = {
          ...consent,
          status: 'inactive',
          extension: [
            ...(consent.extension ?? []),
            { url: `${canonical}/StructureDefinition/consent-withdrawal-date`, valueDateTime: today },
          ],
        };
        const put = await s.call(admin, `/Consent/${consent.id}`, {
          method: 'PUT',
          body: JSON.stringify(withdrawn),
          headers: { 'if-match': consentRes.headers.get('etag') as string },
        });
        expect(put.status, await put.clone().text()).toBe(200);
        expect((await s.call(kela, obs)).status).toBe(403);
        const search = (await (await s.call(kela, '/Observation')).json()) as Bundle;
        expect(
          (search.entry ?? []).filter(
            (e) => (e.resource as Observation).subject?.reference === `Patient/${suviId('Patient')}`,
          ),
        ).toEqual([]);
      });
    });

    describe('Patient/$everything', () => {
      /** `Type/id` of each match, and the outcome entry's text, of a $everything answer. */
      const everything = async (token: string, patientId: string) => {
        const res = await s.call(token, `/Patient/${patientId}/$everything`);
        if (res.status !== 200) return { status: res.status, refs: [], included: [], outcome: undefined };
        const bundle = (await res.json()) as Bundle;
        const inMode = (mode: string) =>
          (bundle.entry ?? [])
            .filter((e) => e.search?.mode === mode)
            .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)
            .sort();
        const refs = inMode('match');
        const included = inMode('include');
        const outcome = bundle.entry?.find((e) => e.search?.mode === 'outcome')?.resource as
          | { issue: { diagnostics?: string }[] }
          | undefined;
        return {
          status: res.status,
          refs,
          included,
          outcome: outcome?.issue[0]?.diagnostics,
          total: bundle.total,
        };
      };
      /** What searching each compartment type for the Patient gives the same caller. */
      const searched = async (token: string, patientId: string, types: string[]) => {
        const refs = [`Patient/${patientId}`];
        for (const type of types) {
          const bundle = (await (
            await s.call(token, `/${type}?patient=Patient/${patientId}&_count=1000`)
          ).json()) as Bundle;
          for (const e of bundle.entry ?? []) refs.push(`${type}/${e.resource?.id}`);
        }
        return refs.sort();
      };
      const notEmpty = <T>(list: T[] | undefined) => (list?.length ? list : undefined);
      const COMPARTMENT = everythingTypes().compartment;

      it('gives each caller what its own reads and searches would, and names the types its scopes leave out', async () => {
        const suvi = suviId('Patient');
        const all = await everything(admin, suvi);
        expect(all.status).toBe(200);
        expect(all.refs).toEqual(await searched(admin, suvi, COMPARTMENT));
        expect(all.refs.filter((r) => !r.startsWith('Patient/')).length).toBeGreaterThan(3);
        expect(all.total).toBe(all.refs.length);
        expect(all.outcome).toBeUndefined();
        // Who did what, where: the PractitionerRoles and Organizations the record refers to.
        expect(all.included.some((r) => r.startsWith('PractitionerRole/'))).toBe(true);

        const { token } = await s.client({
          id: 'everything-obs',
          scope: 'system/Patient.r system/Observation.rs',
        });
        const some = await everything(token, suvi);
        expect(some.refs).toEqual(await searched(admin, suvi, ['Observation']));
        expect(some.outcome).toBe(
          'Not included: the caller may not search QuestionnaireResponse, Consent, CarePlan, Goal, ServiceRequest, CareTeam',
        );
        // Without read permission on the types the record refers to, none of them comes along.
        expect(some.included).toEqual([]);
        const { token: noPatient } = await s.client({
          id: 'everything-nopatient',
          scope: 'system/Observation.rs',
        });
        expect((await everything(noPatient, suvi)).status).toBe(403);
      });

      it("shows a party only what its consent covers, and a client whose consent does not name it the read's refusal", async () => {
        const suvi = suviId('Patient');
        // A consent of Suvi's for TE services that covers her identification only.
        const stored = (await (await s.call(admin, `/Consent/${suviId('Consent')}`)).json()) as Consent;
        const { id: _id, meta, ...consentBody } = stored;
        const actor = stored.provision?.actor?.[0];
        const narrow = {
          ...consentBody,
          meta: { profile: meta?.profile },
          // Active whatever other tests did to the stored one (a withdrawal test ends it).
          status: 'active',
          extension: notEmpty(stored.extension?.filter((x) => !x.url.endsWith('/consent-withdrawal-date'))),
          identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` }],
          provision: {
            ...stored.provision,
            actor: [
              {
                ...actor,
                extension: actor?.extension?.map((x) => ({
                  ...x,
                  valueCodeableConcept: {
                    coding: [{ system: x.valueCodeableConcept?.coding?.[0]?.system, code: 'te-services' }],
                  },
                })),
              },
            ],
            code: stored.provision?.code?.filter((c) => c.coding?.[0]?.code === 'identification'),
          },
        };
        const made = await s.call(admin, '/Consent', { method: 'POST', body: JSON.stringify(narrow) });
        expect(made.status, await made.clone().text()).toBe(201);
        const { token: te } = await s.client({
          id: 'te-everything',
          scope: 'system/*.rs',
          party: 'te-services',
        });
        const shown = await everything(te, suvi);
        expect(shown.status).toBe(200);
        expect(shown.refs).toEqual(await searched(te, suvi, COMPARTMENT));
        expect(shown.refs).toContain(`Patient/${suvi}`);
        expect(shown.refs.filter((r) => r.startsWith('Observation/'))).toEqual([]);
        for (const ref of shown.included) expect((await s.call(te, `/${ref}`)).status, ref).toBe(200);
        const adminObservations = (await everything(admin, suvi)).refs.filter((r) =>
          r.startsWith('Observation/'),
        );
        expect(adminObservations.length).toBeGreaterThan(0);
        const { token: kela } = await s.client({
          id: 'kela-everything',
          scope: 'system/*.rs',
          party: 'kela',
        });
        const maija = ids.get('Patient|maija') as string;
        const refused = await s.call(kela, `/Patient/${maija}/$everything`);
        expect(refused.status).toBe(403);
        expect(await diagnostics(refused)).toBe(
          `sec-consent-1: Patient/${maija} is not available to this client`,
        );
      });

      it('is audited as the read and the searches it makes, each naming the patient', async () => {
        const { token } = await s.client({
          id: 'everything-audited',
          scope: 'system/Patient.r system/Observation.rs',
        });
        expect((await everything(token, suviId('Patient'))).status).toBe(200);
        const res = await s.call(
          auditor,
          `/AuditEvent?agent=everything-audited&patient=Patient/${suviId('Patient')}`,
        );
        const events = ((await res.json()) as Bundle).entry?.map(
          (e) => (e.resource as Resource & { subtype?: { code?: string }[] }).subtype?.[0]?.code,
        );
        expect(events?.sort()).toEqual(['read', 'search-type']);
      });
    });

    describe('turvakielto', () => {
      it('redacts address, telecom and municipality for clients without the turvakielto scope', async () => {
        const suvi = (await (await s.call(admin, `/Patient/${suviId('Patient')}`)).json()) as Patient;
        const { id: _id, meta, ...rest } = suvi;
        const labelled: Patient = {
          ...rest,
          identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` }],
          meta: {
            ...meta,
            versionId: undefined,
            lastUpdated: undefined,
            security: [
              {
                system: 'https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs',
                code: 'TURVAKIELTO',
              },
            ],
          },
          telecom: [{ system: 'phone', value: '+358401234567' }],
          address: [{ line: ['Salainen tie 1'], city: 'Helsinki' }],
        };
        const created = await s.call(admin, '/Patient', { method: 'POST', body: JSON.stringify(labelled) });
        expect(created.status, await created.clone().text()).toBe(201);
        const id = ((await created.json()) as Patient).id as string;
        const { token } = await s.client({ id: 'reader-no-tk', scope: 'system/Patient.rs' });
        const seen = (await (await s.call(token, `/Patient/${id}`)).json()) as Patient;
        expect(seen.address).toBeUndefined();
        expect(seen.telecom).toBeUndefined();
        expect(seen.extension?.some((e) => e.url.endsWith('/municipality-code'))).toBeFalsy();
        expect(seen.meta?.security?.map((c) => c.code)).toEqual(['TURVAKIELTO', 'REDACTED']);
        expect(JSON.stringify(seen)).not.toContain('Salainen');
        const searched = (await (await s.call(token, `/Patient?_id=${id}`)).json()) as Bundle;
        expect((searched.entry?.[0]?.resource as Patient).address).toBeUndefined();
        const full = (await (await s.call(admin, `/Patient/${id}`)).json()) as Patient;
        expect(full.address?.[0]?.line).toEqual(['Salainen tie 1']);

        // The same Patient reached through _include, and as the match of a conditional create.
        const linked = await s.call(admin, '/Observation', {
          method: 'POST',
          body: await observationAbout(id),
        });
        expect(linked.status, await linked.clone().text()).toBe(201);
        const { token: both } = await s.client({
          id: 'obs-patient-no-tk',
          scope: 'system/Observation.rs system/Patient.crus',
        });
        const viaInclude = (await (
          await s.call(both, `/Observation?patient=${id}&_include=Observation:patient`)
        ).json()) as Bundle;
        const includedPatient = viaInclude.entry?.find((e) => e.search?.mode === 'include')
          ?.resource as Patient;
        expect(includedPatient.id).toBe(id);
        expect(includedPatient.meta?.security?.map((c) => c.code)).toEqual(['TURVAKIELTO', 'REDACTED']);
        expect(JSON.stringify(viaInclude)).not.toContain('Salainen');
        const again = await s.call(both, '/Patient', {
          method: 'POST',
          body: JSON.stringify(labelled),
          headers: { 'if-none-exist': `identifier=urn:ietf:rfc:3986|${labelled.identifier?.[0]?.value}` },
        });
        expect(again.status).toBe(200);
        const matchedText = await again.text();
        expect(matchedText).not.toContain('Salainen');
        expect(matchedText).not.toContain('+358401234567');
      });
    });

    describe('turvakielto on writes', () => {
      it('a client without the turvakielto scope cannot change or delete a turvakielto Patient: it would erase what it cannot see', async () => {
        const suvi = (await (await s.call(admin, `/Patient/${suviId('Patient')}`)).json()) as Patient;
        const { id: _id, meta, ...rest } = suvi;
        const label = {
          system: 'https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs',
          code: 'TURVAKIELTO',
        };
        const created = await s.call(admin, '/Patient', {
          method: 'POST',
          body: JSON.stringify({
            ...rest,
            identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` }],
            meta: { profile: meta?.profile, security: [label] },
            address: [{ line: ['Kätketty kuja 3'], city: 'Turku' }],
          }),
        });
        expect(created.status, await created.clone().text()).toBe(201);
        const id = ((await created.json()) as Patient).id as string;
        const { token: writer } = await s.client({ id: 'writer-no-tk', scope: 'system/Patient.cruds' });
        const seen = await s.call(writer, `/Patient/${id}`);
        const redacted = (await seen.json()) as Patient;
        expect(redacted.address).toBeUndefined();
        const refusal = `sec-tk-1: Patient/${id} is under turvakielto; changing or deleting it needs the tyokyky/turvakielto.read scope`;
        const put = await s.call(writer, `/Patient/${id}`, {
          method: 'PUT',
          body: JSON.stringify({ ...redacted, active: true }),
          headers: { 'if-match': seen.headers.get('etag') as string },
        });
        expect(put.status).toBe(403);
        expect(await diagnostics(put)).toBe(refusal);
        const del = await s.call(writer, `/Patient/${id}`, { method: 'DELETE' });
        expect(del.status).toBe(403);
        expect(await diagnostics(del)).toBe(refusal);
        const patched = await s.call(writer, `/Patient/${id}`, {
          method: 'PATCH',
          body: JSON.stringify([{ op: 'add', path: '/active', value: true }]),
          headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
        });
        expect(patched.status).toBe(403);
        expect(await diagnostics(patched)).toBe(refusal);
        const inTransaction = await s.call(writer, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'transaction',
            entry: [
              {
                resource: { ...redacted, active: false },
                request: { method: 'PUT', url: `Patient/${id}`, ifMatch: 'W/"1"' },
              },
            ],
          }),
        });
        expect(inTransaction.status).toBe(403);
        expect(await diagnostics(inTransaction)).toContain('sec-tk-1');
        const kept = (await (await s.call(admin, `/Patient/${id}`)).json()) as Patient;
        expect(kept.meta?.versionId).toBe('1');
        expect(kept.address?.[0]?.line).toEqual(['Kätketty kuja 3']);
        // With the scope the same client may.
        const { token: tk } = await s.client({
          id: 'writer-tk',
          scope: 'system/Patient.cruds tyokyky/turvakielto.read',
        });
        const ok = await s.call(tk, `/Patient/${id}`, {
          method: 'PUT',
          body: JSON.stringify({ ...kept, active: true }),
          headers: { 'if-match': 'W/"1"' },
        });
        expect(ok.status, await ok.clone().text()).toBe(200);
        // A Patient without turvakielto stays writable without the scope.
        const plain = await s.call(writer, `/Patient/${suviId('Patient')}`);
        const plainBody = (await plain.json()) as Patient;
        const plainPut = await s.call(writer, `/Patient/${suviId('Patient')}`, {
          method: 'PUT',
          body: JSON.stringify(plainBody),
          headers: { 'if-match': plain.headers.get('etag') as string },
        });
        expect(plainPut.status, await plainPut.clone().text()).toBe(200);
      });
    });

    describe('turvakielto added later', () => {
      /** A new client like Suvi with `address` in version 1, labelled TURVAKIELTO in version 2: version 1. */
      async function labelledLater(address: Address): Promise<Patient> {
        const {
          id: _id,
          meta,
          ...rest
        } = (await (await s.call(admin, `/Patient/${suviId('Patient')}`)).json()) as Patient;
        const plain: Patient = {
          ...rest,
          identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` }],
          meta: { profile: meta?.profile },
          address: [address],
        };
        const created = await s.call(admin, '/Patient', { method: 'POST', body: JSON.stringify(plain) });
        expect(created.status, await created.clone().text()).toBe(201);
        const v1 = (await created.json()) as Patient;
        const label = {
          system: 'https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs',
          code: 'TURVAKIELTO',
        };
        const updated = await s.call(admin, `/Patient/${v1.id}`, {
          method: 'PUT',
          body: JSON.stringify({ ...v1, meta: { ...v1.meta, security: [label] } }),
          headers: { 'if-match': 'W/"1"' },
        });
        expect(updated.status, await updated.clone().text()).toBe(200);
        return v1;
      }

      it('every earlier version is redacted too: vread, instance, type and system history, in a batch as over HTTP', async () => {
        const v1 = await labelledLater({ line: ['Piilotie 7'], city: 'Oulu' });
        const { token } = await s.client({ id: 'history-no-tk', scope: 'system/*.rs' });
        for (const path of [
          `/Patient/${v1.id}/_history/1`,
          `/Patient/${v1.id}/_history`,
          '/Patient/_history',
          '/_history',
        ]) {
          const text = await (await s.call(token, path)).text();
          expect(text, path).not.toContain('Piilotie');
        }
        const batch = await s.call(token, '', {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [{ request: { method: 'GET', url: `Patient/${v1.id}/_history/1` } }],
          }),
        });
        expect(batch.status).toBe(200);
        const text = await batch.text();
        expect(text).toContain('"REDACTED"');
        expect(text).not.toContain('Piilotie');
        // With the turvakielto scope the old version is as it was.
        expect(await (await s.call(admin, `/Patient/${v1.id}/_history/1`)).text()).toContain('Piilotie');
      });

      it('a Patient deleted under turvakielto keeps its earlier versions redacted: its last version before the deletion counts', async () => {
        const v1 = await labelledLater({ line: ['Kätkökuja 3'], city: 'Kemi' });
        expect((await s.call(admin, `/Patient/${v1.id}`, { method: 'DELETE' })).status).toBe(204);
        const { token } = await s.client({ id: 'deleted-no-tk', scope: 'system/*.rs' });
        for (const path of [
          `/Patient/${v1.id}/_history/1`,
          `/Patient/${v1.id}/_history`,
          `/Patient/_history?_count=1000&_since=${v1.meta?.lastUpdated}`,
          `/_history?_count=1000&_since=${v1.meta?.lastUpdated}`,
        ]) {
          // Not vacuous: the version is there, whole, for a client with the turvakielto scope.
          expect(await (await s.call(admin, path)).text(), path).toContain('Kätkökuja');
          const text = await (await s.call(token, path)).text();
          expect(text, path).toContain(v1.id);
          expect(text, path).not.toContain('Kätkökuja');
        }
      });
    });

    describe('audit log', () => {
      it('records reads with the patient, searchable by patient, agent, date and entity-type with the audit scope', async () => {
        const { token } = await s.client({ id: 'audited-reader', scope: 'system/Observation.rs' });
        const obsId = suviId('Observation');
        expect((await s.call(token, `/Observation/${obsId}`)).status).toBe(200);
        const today = new Date().toISOString().slice(0, 10);
        const res = await s.call(
          auditor,
          `/AuditEvent?patient=Patient/${suviId('Patient')}&agent=audited-reader&date=ge${today}&entity-type=Observation`,
        );
        expect(res.status).toBe(200);
        const bundle = (await res.json()) as Bundle;
        const event = bundle.entry?.[0]?.resource as Resource & {
          subtype?: { code?: string }[];
          entity?: { what?: { reference?: string } }[];
          outcome?: string;
        };
        expect(event.subtype?.[0]?.code).toBe('read');
        expect(event.outcome).toBe('0');
        expect(event.entity?.map((e) => e.what?.reference)).toEqual([
          `Patient/${suviId('Patient')}`,
          `Observation/${obsId}`,
        ]);
        expect((await s.call(token, '/AuditEvent')).status).toBe(403);
      });

      it('cannot be written through the API', async () => {
        for (const [method, path] of [
          ['POST', '/AuditEvent'],
          ['PUT', '/AuditEvent/x'],
          ['DELETE', '/AuditEvent/x'],
        ] as const) {
          const res = await s.call(admin, path, {
            method,
            ...(method === 'DELETE' ? {} : { body: '{"resourceType":"AuditEvent"}' }),
          });
          expect(res.status, await res.clone().text()).toBe(405);
          expect(await diagnostics(res)).toMatch(/^sec-audit-1: /);
          expect(res.headers.get('allow')).toBe('GET, HEAD');
        }
      });

      it('audits every refused attempt on it: a write (405), an interaction it does not answer (400), a token without its scope (403)', async () => {
        const { token } = await s.client({ id: 'audit-prober', scope: AUDIT });
        const { token: none } = await s.client({ id: 'audit-prober-no-scope', scope: 'system/*.rs' });
        for (const [who, method, path, status] of [
          [token, 'POST', '/AuditEvent', 405],
          [token, 'DELETE', '/AuditEvent/x', 405],
          [token, 'GET', '/AuditEvent/_history', 400],
          [none, 'GET', '/AuditEvent', 403],
        ] as const) {
          const res = await s.call(who, path, {
            method,
            ...(method === 'POST' ? { body: '{"resourceType":"AuditEvent"}' } : {}),
          });
          expect([method, path, res.status]).toEqual([method, path, status]);
        }
        const rows = async (agent: string) =>
          ((await (await s.call(admin, `/AuditEvent?agent=${agent}`)).json()) as Bundle).entry?.map((e) => {
            const event = e.resource as AuditEvent;
            return [event.subtype?.[0]?.code, event.outcome, event.outcomeDesc?.slice(0, 12)];
          });
        expect(await rows('audit-prober')).toEqual([
          ['history-type', '4', 'sec-audit-2:'],
          ['delete', '4', 'sec-audit-1:'],
          ['create', '4', 'sec-audit-1:'],
        ]);
        expect(await rows('audit-prober-no-scope')).toEqual([['search-type', '4', 'sec-scope-1:']]);
      });

      it('is not for a receiving party, whatever its scopes, nor is a disclosure log; a party is not registered for it', async () => {
        const key = await clientKey();
        await expect(
          addClient(db.store as never, {
            id: 'kela-auditor',
            scope: `system/*.rs ${AUDIT}`,
            party: 'kela',
            jwks: key.jwks,
          }),
        ).rejects.toThrow(
          `scope "${AUDIT}": sec-consent-8: a receiving party (kela) cannot read the audit log: its events name every client and every search`,
        );
        // A party holding the scope all the same (registered so earlier, or an external IdP's token).
        await addClient(db.store as never, {
          id: 'kela-auditor',
          scope: `system/*.rs ${AUDIT}`,
          jwks: key.jwks,
        });
        await (db.store as unknown as { query(sql: string): Promise<unknown> }).query(
          "UPDATE security_client SET party = 'kela' WHERE id = 'kela-auditor'",
        );
        const issued = await requestToken(s.url, await assertion('kela-auditor', key, `${s.url}/auth/token`));
        const { access_token: kela } = (await issued.json()) as { access_token: string };
        const log = (await (await s.call(auditor, '/AuditEvent?_count=1')).json()) as Bundle;
        const suvi = (await (await s.call(admin, `/Patient/${suviId('Patient')}`)).json()) as Patient;
        const clientId = suvi.identifier?.find((i) => i.system === localIdSystem('client'))?.value as string;
        for (const path of [
          '/AuditEvent',
          `/AuditEvent?patient=Patient/${suviId('Patient')}`,
          `/AuditEvent/${log.entry?.[0]?.resource?.id}`,
          `${s.url}/api/clients/${clientId}/disclosures`,
        ]) {
          const res = await s.call(kela, path);
          expect([path, res.status]).toEqual([path, 403]);
          expect(await diagnostics(res)).toBe(
            'sec-consent-8: a receiving party (kela) cannot read the audit log: its events name every client and every search',
          );
        }
        const refused = (await (await s.call(admin, '/AuditEvent?agent=kela-auditor')).json()) as Bundle;
        expect(
          (refused.entry ?? []).map((e) => (e.resource as AuditEvent).outcomeDesc?.slice(0, 14)),
        ).toEqual(Array(4).fill('sec-consent-8:'));
      });

      it('answers read and search only, as its CapabilityStatement entry declares (no history, no vread)', async () => {
        const log = (await (await s.call(auditor, '/AuditEvent?_count=1')).json()) as Bundle;
        const id = log.entry?.[0]?.resource?.id as string;
        expect((await s.call(auditor, `/AuditEvent/${id}`)).status).toBe(200);
        for (const [path, interaction] of [
          ['/AuditEvent/_history', 'history-type'],
          [`/AuditEvent/${id}/_history`, 'history-instance'],
          [`/AuditEvent/${id}/_history/1`, 'vread'],
        ] as const) {
          const res = await s.call(auditor, path);
          expect(res.status, path).toBe(400);
          expect(await diagnostics(res)).toBe(
            `sec-audit-2: the audit log answers read and search only, not ${interaction}`,
          );
        }
        const head = await s.call(auditor, `/AuditEvent/${id}`, { method: 'HEAD' });
        expect([head.status, head.headers.get('content-type')]).toEqual([
          200,
          'application/fhir+json; charset=utf-8',
        ]);
      });

      it('records its own reads: who read whose audit trail, and when', async () => {
        const { token } = await s.client({ id: 'audit-reader', scope: AUDIT });
        const patient = `Patient/${suviId('Patient')}`;
        expect((await s.call(token, `/AuditEvent?patient=${patient}&_count=1`)).status).toBe(200);
        const own = (await (await s.call(admin, '/AuditEvent?agent=audit-reader')).json()) as Bundle;
        const events = (own.entry ?? []).map((e) => e.resource as AuditEvent);
        expect(events.map((e) => [e.subtype?.[0]?.code, e.outcome])).toEqual([['search-type', '0']]);
        expect(JSON.stringify(events[0]?.entity)).toContain(patient);
      });

      it("records a delete in the client's use log (AuditEvent?patient=), and a delete of nothing as well", async () => {
        const { token } = await s.client({ id: 'obs-deleter', scope: 'system/Observation.rd' });
        const created = await s.call(admin, '/Observation', {
          method: 'POST',
          body: await observationAbout(suviId('Patient')),
        });
        expect(created.status, await created.clone().text()).toBe(201);
        const obs = `Observation/${((await created.json()) as Observation).id}`;
        const never = 'Observation/00000000-0000-4000-8000-00000000dead';
        for (const path of [obs, obs, never])
          expect((await s.call(token, `/${path}`, { method: 'DELETE' })).status, path).toBe(204);
        const rows = async (query: string) =>
          (
            (await (await s.call(auditor, `/AuditEvent?agent=obs-deleter&${query}`)).json()) as Bundle
          ).entry?.map((e) => {
            const event = e.resource as AuditEvent;
            return [
              event.subtype?.[0]?.code,
              event.outcome,
              event.outcomeDesc,
              event.entity?.map((x) => x.what?.reference),
            ];
          });
        const patient = `Patient/${suviId('Patient')}`;
        // Newest first: the repeated delete, then the one that deleted.
        expect(await rows(`patient=${patient}`)).toEqual([
          ['delete', '0', 'nothing to delete', [patient, obs]],
          ['delete', '0', undefined, [patient, obs]],
        ]);
        expect((await rows('entity-type=Observation'))?.[0]).toEqual([
          'delete',
          '0',
          'nothing to delete',
          [never],
        ]);
      });

      it('audits a successful $validate POST as an operation naming the type or the instance, not what was sent', async () => {
        const { token } = await s.client({ id: 'validate-poster', scope: 'system/Patient.cr' });
        const suvi = (await (await s.call(admin, `/Patient/${suviId('Patient')}`)).json()) as Patient;
        const hetu = await hetuOf(suviId('Patient'));
        const typeLevel = await s.call(token, '/Patient/$validate', {
          method: 'POST',
          body: JSON.stringify(suvi),
        });
        expect(typeLevel.status, await typeLevel.clone().text()).toBe(200);
        const instance = await s.call(token, `/Patient/${suviId('Patient')}/$validate`, {
          method: 'POST',
          body: JSON.stringify({
            resourceType: 'Parameters',
            parameter: [{ name: 'resource', resource: suvi }],
          }),
        });
        expect(instance.status, await instance.clone().text()).toBe(200);
        // The front writes the row once the answer is sent.
        const rows = async () =>
          ((await (await s.call(auditor, '/AuditEvent?agent=validate-poster')).json()) as Bundle).entry?.map(
            (e) => e.resource as AuditEvent,
          ) ?? [];
        let events = await rows();
        for (let i = 0; i < 40 && events.length < 2; i++) {
          await new Promise((done) => setTimeout(done, 50));
          events = await rows();
        }
        // Newest first.
        expect(
          events.map((e) => [
            e.subtype?.[0]?.code,
            e.action,
            e.outcome,
            e.outcomeDesc,
            e.entity?.map((x) => x.what?.reference),
          ]),
        ).toEqual([
          ['operation', 'E', '0', undefined, [`Patient/${suviId('Patient')}`]],
          ['operation', 'E', '0', undefined, undefined],
        ]);
        const typeRows = (await (
          await s.call(auditor, '/AuditEvent?agent=validate-poster&entity-type=Patient')
        ).json()) as Bundle;
        expect(typeRows.entry).toHaveLength(2);
        const text = JSON.stringify(events);
        for (const sent of [hetu, suvi.name?.[0]?.family as string]) expect(text).not.toContain(sent);
      });

      it('audits a PATCH as patch and a PUT as update', async () => {
        const { token } = await s.client({ id: 'patcher', scope: 'system/Practitioner.cru' });
        const created = await s.call(token, '/Practitioner', {
          method: 'POST',
          body: JSON.stringify({ resourceType: 'Practitioner', name: [{ family: 'Paikattu' }] }),
        });
        const stored = (await created.json()) as Resource;
        const patched = await s.call(token, `/Practitioner/${stored.id}`, {
          method: 'PATCH',
          body: JSON.stringify([{ op: 'add', path: '/active', value: true }]),
          headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
        });
        expect(patched.status).toBe(200);
        const put = await s.call(token, `/Practitioner/${stored.id}`, {
          method: 'PUT',
          body: JSON.stringify({ ...stored, active: false }),
          headers: { 'if-match': 'W/"2"' },
        });
        expect(put.status).toBe(200);
        const log = (await (await s.call(auditor, '/AuditEvent?agent=patcher&_count=10')).json()) as Bundle;
        const subtypes = log.entry?.map((e) => (e.resource as AuditEvent).subtype?.[0]?.code).sort();
        // The PATCH reads the stored resource through the guard first: that read is audited too.
        expect(subtypes).toEqual(['create', 'patch', 'read', 'update']);
      });

      it('writes a create audit row in the transaction of the write, and none when the transaction fails', async () => {
        const { token } = await s.client({ id: 'creator', scope: 'system/*.cruds' });
        const practitioner = { resourceType: 'Practitioner', name: [{ family: 'Audit' }] };
        const ok = await s.call(token, '/Practitioner', {
          method: 'POST',
          body: JSON.stringify(practitioner),
        });
        expect(ok.status).toBe(201);
        const id = ((await ok.json()) as Resource).id;
        const log = (await (
          await s.call(auditor, '/AuditEvent?agent=creator&entity-type=Practitioner')
        ).json()) as Bundle;
        expect(
          log.entry?.map(
            (e) =>
              (e.resource as { entity?: { what?: { reference?: string } }[] }).entity?.[0]?.what?.reference,
          ),
        ).toEqual([`Practitioner/${id}`]);
        const failing: Bundle = {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              fullUrl: 'urn:uuid:1e5a3c1e-0000-4000-8000-000000000001',
              resource: practitioner as Resource,
              request: { method: 'POST', url: 'Practitioner' },
            },
            {
              resource: { resourceType: 'Practitioner', name: 'not-an-array' } as unknown as Resource,
              request: { method: 'POST', url: 'Practitioner' },
            },
          ],
        };
        const { token: t2 } = await s.client({ id: 'creator-2', scope: 'system/*.cruds' });
        const res = await s.call(t2, '', { method: 'POST', body: JSON.stringify(failing) });
        expect(res.status).toBeGreaterThanOrEqual(400);
        // A failure the router answers is audited when the response has finished: wait for its row.
        let kinds: string[] | undefined;
        for (let tries = 0; tries < 50 && !kinds?.length; tries++) {
          const after = (await (await s.call(auditor, '/AuditEvent?agent=creator-2')).json()) as Bundle;
          kinds = after.entry
            ?.map((e) => e.resource as { subtype?: { code?: string }[]; outcome?: string })
            .map((r) => `${r.subtype?.[0]?.code}:${r.outcome}`);
          if (!kinds?.length) await new Promise((r) => setTimeout(r, 50));
        }
        expect(kinds).toEqual(['transaction:4']);
      });
    });

    describe('hardening', () => {
      it('sends security headers and no-store, and builds Location from the base URL, not the Host header', async () => {
        const body = JSON.stringify({ resourceType: 'Practitioner', name: [{ family: 'Host' }] });
        const res = await new Promise<IncomingMessage>((resolve, reject) => {
          const req = request(`${s.fhir}/Practitioner`, {
            method: 'POST',
            headers: {
              host: 'evil.example',
              authorization: `Bearer ${admin}`,
              'content-type': 'application/fhir+json',
            },
          });
          req.once('response', resolve).once('error', reject);
          req.end(body);
        });
        res.resume();
        expect(res.statusCode).toBe(201);
        expect(res.headers.location).toMatch(new RegExp(`^${s.fhir}/Practitioner/`));
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        // An API's headers (OWASP REST Security): nothing may be loaded, framed or inlined, and none of
        // the HTML-page headers a JSON answer has no use for.
        expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        for (const page of [
          'origin-agent-cluster',
          'x-dns-prefetch-control',
          'x-download-options',
          'x-xss-protection',
        ])
          expect(res.headers[page], page).toBeUndefined();
      });
    });
  });
}
