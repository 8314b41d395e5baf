// Which files `tyokyky load` posts: files as given, folders walked to their *.json files at any
// depth (as `tyokyky validate` walks them), and a usage error when a folder holds none; a file whose
// JSON is no FHIR resource is that file's failure, never a request, and loading goes on.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LoadPathError, expandFiles, loadFile } from '../../src/cli/load/files.ts';
import { runHere } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-load-files-'));
/** What the stand-in facade was sent: method and path of each request. */
const received: string[] = [];
/** A stand-in facade: every POST to a type is a 201 of that type. */
const facade = createServer((req, res) => {
  received.push(`${req.method} ${req.url}`);
  res.writeHead(201, { 'content-type': 'application/fhir+json' });
  res.end(JSON.stringify({ resourceType: req.url?.split('/').at(-1), id: 'new' }));
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => facade.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(facade.address() as AddressInfo).port}/fhir`;
});
beforeEach(() => {
  received.length = 0;
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
    writeFileSync(join(folder, 'c-practitioner.json'), '{"resourceType": "Practitioner"}');
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
