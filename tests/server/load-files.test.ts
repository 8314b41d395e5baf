// Which files `tyokyky load` posts: files as given, folders walked to their *.json files at any
// depth (as `tyokyky validate` walks them), and a usage error when a folder holds none.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LoadPathError, expandFiles } from '../../src/cli/load/files.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-load-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
