// `tyokyky validate --display-issues`, in this process: a Coding display that is not its code's is a
// warning by default and an error with `--display-issues error` (the HL7 validator's verdict unless
// -display-issues-are-warnings).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHere } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-validate-display-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
const wrongDisplay = join(dir, 'observation.json');
writeFileSync(
  wrongDisplay,
  JSON.stringify({
    resourceType: 'Observation',
    text,
    status: 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'survey',
            display: 'Not the display',
          },
        ],
      },
    ],
    code: { text: 'x' },
    valueString: 'x',
  }),
);
const DISPLAY =
  /Observation\.category\[0\]\.coding\[0\] +Wrong display 'Not the display' for 'http:\/\/terminology\.hl7\.org\/CodeSystem\/observation-category#survey'/;

describe('tyokyky validate --display-issues', { timeout: 120_000 }, () => {
  it('--help lists it', async () => {
    const help = (await runHere(['validate', '--help'])).out.replace(/\s+/g, ' ');
    expect(help).toContain('--display-issues <severity>');
    expect(help).toMatch(/choices: "error", "warning", default: "warning"/);
  });

  it('a wrong display is a warning by default and with --display-issues warning', async () => {
    for (const args of [[], ['--display-issues', 'warning']]) {
      const r = await runHere(['validate', '--no-progress', ...args, wrongDisplay]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(new RegExp(`warning +${DISPLAY.source}`));
    }
  });

  it('--display-issues error makes it an error (exit 1)', async () => {
    const r = await runHere(['validate', '--no-progress', '--display-issues', 'error', wrongDisplay]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(new RegExp(`error +${DISPLAY.source}`));
  });

  it('refuses another value (usage error)', async () => {
    const r = await runHere(['validate', '--display-issues', 'fatal', wrongDisplay]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("argument 'fatal' is invalid");
  });
});
