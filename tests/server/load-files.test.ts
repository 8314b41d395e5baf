// Which files `tyokyky load` posts: files as given, folders walked to their *.json files at any
// depth (as `tyokyky validate` walks them), and a usage error when a folder holds none; a file whose
// JSON is no FHIR resource is that file's failure, never a request, and loading goes on.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LoadPathError, expandFiles, loadFile } from '../../src/cli/load/files.ts';
import { issue, outcome } from '../../src/shared/outcome.ts';
import { freshPgliteDataDir } from '../../src/store/template.ts';
import { runHere } from '../helpers/cli.ts';
import { startFacadeHere } from '../helpers/facade.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-load-files-'));
/** What the stand-in facade was sent: method and path of each request. */
const received: string[] = [];
/** The bodies of the POSTs it was sent, in order. */
const bodies: string[] = [];
/** Answers the stand-in gives before its usual one, first to last: status and Retry-After (seconds). */
const script: Array<{ status: number; retryAfter?: string }> = [];
/** A stand-in facade: every POST to a type is a 201 of that type, unless the script says otherwise. */
const facade = createServer(async (req, res) => {
  received.push(`${req.method} ${req.url}`);
  if (req.method === 'POST') {
    let body = '';
    for await (const chunk of req) body += chunk;
    bodies.push(body);
  }
  const next = script.shift();
  if (next) {
    res.writeHead(next.status, {
      'content-type': 'application/fhir+json',
      ...(next.retryAfter === undefined ? {} : { 'retry-after': next.retryAfter }),
    });
    const rule = next.status === 429 ? 'sec-rate-1: too many requests' : 'Database unreachable';
    res.end(JSON.stringify(outcome([issue('error', 'throttled', rule)])));
    return;
  }
  res.writeHead(201, { 'content-type': 'application/fhir+json' });
  res.end(JSON.stringify({ resourceType: req.url?.split('/').at(-1), id: 'new' }));
});
let url = '';

/** A Practitioner with business identifier number `n`, as a file's text. */
function practitioner(n: number): string {
  return JSON.stringify({
    resourceType: 'Practitioner',
    identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:00000000-0000-4000-8000-00000000000${n}` }],
  });
}

/** A folder of files named `names`, each a Practitioner with its own identifier. */
function practitioners(folder: string, names: string[]): string[] {
  mkdirSync(join(dir, folder));
  return names.map((name, i) => {
    const file = join(dir, folder, name);
    writeFileSync(file, practitioner(i));
    return file;
  });
}

beforeAll(async () => {
  await new Promise<void>((resolve) => facade.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(facade.address() as AddressInfo).port}/fhir`;
});
beforeEach(() => {
  received.length = 0;
  bodies.length = 0;
  script.length = 0;
});
afterAll(async () => {
  await new Promise((resolve) => facade.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('the files tyokyky load posts', () => {
  it('walks folders to their *.json files at any depth, sorted by path, and leaves package manifests out', async () => {
    for (const f of ['b/2.json', 'b/1.json', 'a.json', 'a/z/deep.json', 'notes.txt', 'b/package.json']) {
      mkdirSync(join(dir, 'tree', f, '..'), { recursive: true });
      writeFileSync(join(dir, 'tree', f), '{}');
    }
    expect(await expandFiles([join(dir, 'tree')])).toEqual(
      ['a.json', 'a/z/deep.json', 'b/1.json', 'b/2.json'].map((f) => join(dir, 'tree', f)),
    );
  });

  it('refuses a folder without any *.json file, naming it', async () => {
    mkdirSync(join(dir, 'empty', 'inner'), { recursive: true });
    const refused = expandFiles([join(dir, 'empty')]);
    await expect(refused).rejects.toBeInstanceOf(LoadPathError);
    await expect(refused).rejects.toThrow(`tyokyky load: no *.json files in ${join(dir, 'empty')}`);
  });
});

describe('a file read as tyokyky validate reads it', () => {
  it('a UTF-8 byte order mark before the JSON is no part of it: the file is posted without it', async () => {
    const file = join(dir, 'bom-practitioner.json');
    writeFileSync(file, `\uFEFF${practitioner(7)}`);
    expect(await loadFile(file, url)).toMatchObject({ file, ok: true, status: 201 });
    expect(received).toEqual(['POST /fhir/Practitioner']);
    expect(bodies).toEqual([practitioner(7)]);
  });

  it('a property name given twice is that file’s failure, as validate refuses it; nothing is sent', async () => {
    const file = join(dir, 'duplicate.json');
    writeFileSync(file, '{"resourceType":"Practitioner","active":true,"active":false}');
    expect(await loadFile(file, url)).toEqual({
      file,
      ok: false,
      status: 0,
      summary: "cannot read JSON: Duplicated property name 'active' at offset 45",
    });
    expect(received).toEqual([]);
  });
});

describe('a file whose JSON is no FHIR resource', () => {
  it.each([
    ['null', 'null'],
    ['"just a string"', 'a string'],
    ['42', 'a number'],
    ['true', 'a boolean'],
    ['[{"resourceType": "Patient"}]', 'an array'],
    ['{"id": "x"}', 'an object without a resourceType'],
    ['{"resourceType": 7}', 'an object without a resourceType'],
  ])('%s is that file’s failure, naming what it holds, and nothing is sent', async (text, what) => {
    const file = join(dir, 'not-a-resource.json');
    writeFileSync(file, text);
    expect(await loadFile(file, url)).toEqual({
      file,
      ok: false,
      status: 0,
      summary: `not a FHIR resource or Bundle: the file holds ${what}`,
    });
    expect(received).toEqual([]);
  });

  it('loading goes on with the next file and ends with the failure summary (exit 1)', async () => {
    const folder = join(dir, 'mixed');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a-null.json'), 'null');
    writeFileSync(join(folder, 'b-string.json'), '"just a string"');
    writeFileSync(join(folder, 'c-practitioner.json'), practitioner(1));
    const r = await runHere(['load', folder, '--url', url]);
    expect(r).toEqual({
      code: 1,
      out: [
        `FAIL ${join(folder, 'a-null.json')}  -  not a FHIR resource or Bundle: the file holds null`,
        `FAIL ${join(folder, 'b-string.json')}  -  not a FHIR resource or Bundle: the file holds a string`,
        `ok   ${join(folder, 'c-practitioner.json')}  201  created Practitioner/new`,
        '2 file(s) failed',
        '',
      ].join('\n'),
    });
    expect(received).toEqual(['POST /fhir/Practitioner']);
  });
});

describe('a facade that asks the loader to slow down', () => {
  it('429 and 503 are waited out (Retry-After) and the same file sent again; every file ends ok', async () => {
    const [a, b] = practitioners('throttled', ['a.json', 'b.json']);
    script.push({ status: 429, retryAfter: '1' }, { status: 503, retryAfter: '1' });
    const started = Date.now();
    const r = await runHere(['load', join(dir, 'throttled'), '--url', url]);
    expect(r).toEqual({
      code: 0,
      out: [
        `wait ${a}  429  sending it again in 1 s (Retry-After)`,
        `wait ${a}  503  sending it again in 1 s (Retry-After)`,
        `ok   ${a}  201  created Practitioner/new`,
        `ok   ${b}  201  created Practitioner/new`,
        '',
      ].join('\n'),
    });
    expect(received).toEqual(Array(4).fill('POST /fhir/Practitioner'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  });

  it("a file still refused after 4 attempts fails with the facade's reason", async () => {
    const [a] = practitioners('refused', ['a.json']);
    for (let i = 0; i < 4; i++) script.push({ status: 429, retryAfter: '0' });
    expect(await loadFile(a, url)).toEqual({
      file: a,
      ok: false,
      status: 429,
      summary: 'sec-rate-1: too many requests',
    });
    expect(received).toEqual(Array(4).fill('POST /fhir/Practitioner'));
  });
});

describe('a facade that cannot be reached', () => {
  it('stops after 3 files in a row instead of failing every file', async () => {
    // Port 9 (discard): nothing listens there. A port freed by a server of this test could be taken by
    // another test's server while the load waits between its tries.
    const nowhere = 'http://127.0.0.1:9/fhir';
    const files = practitioners('unreachable', ['a.json', 'b.json', 'c.json', 'd.json', 'e.json']);
    const r = await runHere(['load', join(dir, 'unreachable'), '--url', nowhere]);
    expect(r).toEqual({
      code: 1,
      out: [
        ...files.slice(0, 3).map((f) => `FAIL ${f}  -  cannot reach ${nowhere}/Practitioner: fetch failed`),
        `tyokyky load: stopped: 3 files in a row could not reach ${nowhere}; 2 file(s) not sent`,
        '',
      ].join('\n'),
    });
  });
});

describe('loading twice adds nothing', () => {
  it('a resource without an identifier goes by its url and version; one with none of them is refused unsent', async () => {
    const facadeDir = await freshPgliteDataDir();
    const real = await startFacadeHere({ dataDir: facadeDir });
    try {
      const questionnaire = join(
        fileURLToPath(new URL('../../', import.meta.url)),
        'profiles',
        'package',
        'Questionnaire-kykyviisari.json',
      );
      const first = await loadFile(questionnaire, real.url);
      expect(first).toMatchObject({ ok: true, status: 201 });
      const second = await loadFile(questionnaire, real.url);
      expect(second).toEqual({
        file: questionnaire,
        ok: true,
        status: 200,
        summary: first.summary.replace('created', 'already present'),
      });
      const found = await fetch(`${real.url}/Questionnaire?_total=accurate`);
      expect(((await found.json()) as Bundle).total).toBe(1);

      const anonymous = join(dir, 'anonymous.json');
      writeFileSync(anonymous, '{"resourceType": "Practitioner", "name": [{"family": "Virtanen"}]}');
      expect(await loadFile(anonymous, url)).toEqual({
        file: anonymous,
        ok: false,
        status: 0,
        summary: 'not loadable idempotently: no identifier, url or version',
      });
      expect(received).toEqual([]);
    } finally {
      await real.stop();
      rmSync(facadeDir, { recursive: true, force: true });
    }
  }, 60_000);
});
