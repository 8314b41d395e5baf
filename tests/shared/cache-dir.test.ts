// The cache root: TYOKYKY_CACHE_DIR, else the user's cache folder, else a private folder of this
// user's in the shared temp folder — never one another user made (it could hold their package or
// block ours).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheRoot } from '../../src/shared/cache-dir.ts';

const NAMES = ['TYOKYKY_CACHE_DIR', 'XDG_CACHE_HOME', 'TMPDIR'] as const;
let saved: Partial<Record<(typeof NAMES)[number], string>>;
let shared: string;

beforeEach(() => {
  saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));
  shared = mkdtempSync(join(tmpdir(), 'tyokyky-cache-root-'));
  // No user cache folder can be made (a file stands where it would go): the temp folder is used.
  writeFileSync(join(shared, 'not-a-folder'), '');
  Reflect.deleteProperty(process.env, 'TYOKYKY_CACHE_DIR');
  process.env.XDG_CACHE_HOME = join(shared, 'not-a-folder');
  process.env.TMPDIR = shared;
});

afterEach(() => {
  for (const n of NAMES) {
    if (saved[n] === undefined) Reflect.deleteProperty(process.env, n);
    else process.env[n] = saved[n];
  }
  rmSync(shared, { recursive: true, force: true });
});

const own = () => join(shared, `tyokyky-fhir-${process.getuid?.() ?? 'user'}`);

describe('cacheRoot', () => {
  it('is TYOKYKY_CACHE_DIR when set', () => {
    process.env.TYOKYKY_CACHE_DIR = join(shared, 'mine');
    expect(cacheRoot()).toBe(join(shared, 'mine'));
  });

  it('falls back to a folder of this user in the temp folder, open to no one else', () => {
    expect(cacheRoot()).toBe(own());
    if (process.platform !== 'win32') expect(statSync(own()).mode & 0o777).toBe(0o700);
    expect(cacheRoot()).toBe(own()); // found again as it was left
  });

  it.skipIf(process.platform === 'win32')(
    'refuses a temp folder of that name that others may write, or a link',
    () => {
      mkdirSync(own());
      chmodSync(own(), 0o777);
      expect(() => cacheRoot()).toThrow(/is not this user's private folder .*set TYOKYKY_CACHE_DIR/);
      rmSync(own(), { recursive: true });
      mkdirSync(join(shared, 'elsewhere'), { mode: 0o700 });
      symlinkSync(join(shared, 'elsewhere'), own());
      expect(() => cacheRoot()).toThrow(/is not this user's private folder/);
    },
  );
});
