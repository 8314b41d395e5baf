// `tyokyky validate` features for CI and large inputs, run in this process (the command body itself;
// the installed bin is exercised by pack.test.ts): JUnit XML, --fail-on, progress by resources,
// package manifests skipped in folders, no resources → exit 2, client values left out of the issues.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { xmlText } from '../../src/cli/validate/report.ts';
import { type ValidateOptions, runValidate } from '../../src/cli/validate/run.ts';
import { runHere } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-validate-ci-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

/** Runs the command body, capturing stdout and stderr; a usage error is exit 2 with its message. */
async function validate(paths: string[], opts: Partial<ValidateOptions> = {}) {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  try {
    const code = await runValidate(paths, {
      profile: [],
      package: [],
      format: 'text',
      progress: false,
      ...opts,
    });
    return { code, stdout, stderr };
  } catch (e) {
    return { code: 2, stdout, stderr: `${stderr}${(e as Error).message}` };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const good = file('ok/patient.json', { resourceType: 'Patient', id: 'p1', text, active: true });
const bad = file('bad/patient.json', { resourceType: 'Patient', id: 'p2', text, gender: 'mal' });
// No narrative: dom-6 is a best-practice warning, not an error.
const warnOnly = file('warn/patient.json', { resourceType: 'Patient', id: 'p3', active: true });

describe('tyokyky validate in CI', { timeout: 120_000 }, () => {
  it('--format junit: one suite per file, one case per resource; a failure carries the issues and the OperationOutcome', async () => {
    const r = await validate([good, bad], { format: 'junit' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="tyokyky validate" tests="2" failures="1" errors="0">\n/,
    );
    expect(r.stdout).toContain(`<testsuite name="${good}" tests="1" failures="0" errors="0">`);
    expect(r.stdout).toContain(`<testcase name="${good}" classname="${good}">`);
    const failure =
      /<failure message="1 error\(s\), (\d+) warning\(s\)" type="error">([\s\S]*?)<\/failure>/.exec(r.stdout);
    expect(failure?.[2]).toMatch(/^error +Patient\.gender +.*&apos;mal&apos;/);
    expect(failure?.[2]).toContain('&quot;resourceType&quot;: &quot;OperationOutcome&quot;');
    expect(r.stdout.trimEnd().endsWith('</testsuites>')).toBe(true);
  });

  it('judges numbers as written: an integer written 1.0 in a JSON file or an NDJSON line is an error at its element', async () => {
    const observation = (value: string) =>
      `{"resourceType":"Observation","text":${JSON.stringify(text)},"status":"final","code":{"text":"x"},${value}}`;
    const json = file('numbers/one.json', observation('"valueInteger":1.0'));
    const ndjson = file(
      'numbers/many.ndjson',
      `${observation('"valueInteger":1')}\n${observation('"valueInteger":3e0')}\n`,
    );
    const r = await validate([json, ndjson], { format: 'ndjson' });
    expect(r.code).toBe(1);
    const errors = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .map((x) => [
        x.source,
        x.outcome.issue
          .filter((i: { severity: string }) => i.severity === 'error')
          .map((i: { diagnostics: string }) => i.diagnostics),
      ]);
    expect(errors).toEqual([
      [json, ["The value '1.0' is not a valid integer"]],
      [`${ndjson}:1`, []],
      [`${ndjson}:2`, ["The value '3e0' is not a valid integer"]],
    ]);
  });

  it('XML text escapes markup and drops characters XML 1.0 cannot carry', () => {
    expect(xmlText(`<a href="x">'&'</a>\u0001\ud800`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;\uFFFD\uFFFD',
    );
  });

  it('--fail-on warning fails a resource that has only warnings; the default (error) passes it', async () => {
    // One at a time: each run captures process.stdout.
    const byDefault = await validate([warnOnly]);
    const strict = await validate([warnOnly], { failOn: 'warning', format: 'junit' });
    expect(byDefault.code).toBe(0);
    expect(byDefault.stdout).toMatch(/✓ .*patient\.json: valid, \d+ warning\(s\)/);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(
      /<failure message="0 error\(s\), \d+ warning\(s\)" type="warning">warning +Patient/,
    );
  });

  it('--package adds to our packages: a support plan with the Kanta extension stays clean', async () => {
    const plan = join(import.meta.dirname, '../../profiles/package/example/CarePlan-maija-plan.json');
    const extra = join(import.meta.dirname, '../validation/supporting/measure-cohort-visits.json');
    const r = await validate([plan], { package: [extra] });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ .*CarePlan-maija-plan\.json: valid\n/);
    expect(r.stdout).not.toContain('Unknown extension');
  });

  it('a folder walk skips package manifests (package.json, .index.json); only those → no resources, exit 2', async () => {
    file('pkg/package/package.json', { name: 'x.fhir', version: '1.0.0' });
    file('pkg/package/.index.json', { 'index-version': 1, files: [] });
    const onlyManifests = await validate([join(dir, 'pkg')]);
    expect(onlyManifests.code).toBe(2);
    expect(onlyManifests.stderr).toBe(`no FHIR resources found in ${join(dir, 'pkg')}`);
    file('pkg/package/Patient-p.json', { resourceType: 'Patient', id: 'p', text });
    const withResource = await validate([join(dir, 'pkg')]);
    expect(withResource.code).toBe(0);
    expect(withResource.stdout).toContain('1 resource(s): 1 valid, 0 with errors');
    expect(withResource.stdout).not.toMatch(/package\.json|\.index\.json/);
  });

  it('paths that hold no FHIR resources at all (an empty folder, a blank NDJSON) exit 2', async () => {
    mkdirSync(join(dir, 'empty'));
    const blank = file('blank.ndjson', '\n\n');
    const empty = await validate([join(dir, 'empty')]);
    const none = await validate([blank]);
    expect([empty.code, none.code]).toEqual([2, 2]);
    expect(empty.stderr).toBe(`no FHIR resources found in ${join(dir, 'empty')}`);
    expect(none.stderr).toBe(`no FHIR resources found in ${blank}`);
  });

  it('progress counts resources while one large NDJSON file is read, and reaches 100%', async () => {
    const lines = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({ resourceType: 'Patient', id: `n${i}`, text }),
    );
    const big = file('big.ndjson', `${lines.join('\n')}\n`);
    const r = await validate([big], { progress: true, format: 'ndjson' });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(300);
    // Where FI Base is not found (a machine without ../shared), its one line follows the progress.
    const progress = r.stderr.replace(/tyokyky validate: FI Base \(.*\) not found: .*\n$/, '');
    const frames = progress.split('\r\x1b[K').filter(Boolean);
    expect(frames.at(-1)).toMatch(/^100% 300 resource\(s\) .*big\.ndjson\n$/);
    expect(frames.some((f) => /^ *\d+% [1-9]\d* resource\(s\)/.test(f))).toBe(true);
  });
});

describe('XML input', () => {
  it('what the conversion to JSON drops is an error naming the element, so an XML file is not judged on less than it says', async () => {
    const xml = (extra: string) =>
      file(
        `xml-${extra ? 'unknown' : 'clean'}.xml`,
        `<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">x</div></text>${extra}<active value="true"/></Patient>`,
      );
    const clean = await validate([xml('')]);
    expect(clean.code).toBe(0);
    const unknown = await validate([xml('<shoeSize value="42"/>')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(/error +Patient\.shoeSize +Undefined element 'shoeSize'/);
  });

  it('runs the XML rules: element order, namespaces, DOCTYPE, forbidden character references, encoding declaration vs bytes', async () => {
    const head =
      '<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">x</div></text>';
    const disordered = file('xml/order.xml', `${head}<gender value="male"/><active value="true"/></Patient>`);
    const foreign = file(
      'xml/ns.xml',
      `${head}<x:flag xmlns:x="urn:example:x"/><active value="true"/></Patient>`,
    );
    const doctype = file(
      'xml/doctype.xml',
      `<!DOCTYPE Patient [<!ENTITY e "x">]>\n${head}<active value="true"/></Patient>`,
    );
    const charRef = file('xml/charref.xml', `${head}<name><family value="a&#0;b"/></name></Patient>`);
    const latin1 = file(
      'xml/latin1.xml',
      `<?xml version="1.0" encoding="ISO-8859-1"?>${head}<name><family value="Mäkelä"/></name></Patient>`,
    );
    const r = await validate([disordered, foreign, doctype, charRef, latin1]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /error +Patient\.active +As specified by profile .*Patient, Element 'active' is out of order/,
    );
    expect(r.stdout).toMatch(/error +Patient\.flag +Wrong namespace - expected 'http:\/\/hl7\.org\/fhir'/);
    expect(r.stdout).toMatch(/error +Patient +A DOCTYPE declaration is not allowed in FHIR XML/);
    expect(r.stdout).toMatch(/error +Patient +The character reference '&#0;' is not allowed in XML 1\.0/);
    expect(r.stdout).toMatch(
      /error +Patient +The document declares the encoding 'ISO-8859-1' but its bytes are UTF-8/,
    );
    expect(r.stdout).not.toContain('Mäkelä');
    const utf8 = file(
      'xml/utf8.xml',
      `\uFEFF<?xml version="1.0" encoding="utf-8"?>${head}<name><family value="Mäkelä"/></name></Patient>`,
    );
    expect((await validate([utf8])).code).toBe(0);
  });
});

describe('--no-values-in-messages', () => {
  // HETUs where a code and a date belong: the issues name the element and the rule either way; by
  // default they quote the value, as the HL7 validator words them, and with the flag they do not.
  const HETUS = ['010181-900C', '120395-902S'];
  const leaky = file('leaky/patient.json', {
    resourceType: 'Patient',
    id: 'p4',
    text,
    gender: HETUS[0],
    birthDate: HETUS[1],
  });
  const leakyXml = file(
    'leaky/patient.xml',
    `<Patient xmlns="http://hl7.org/fhir"><id value="p5"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">x</div></text><gender value="${HETUS[0]}"/><birthDate value="${HETUS[1]}"/></Patient>`,
  );

  it.each(['text', 'ndjson', 'junit'])(
    '--format %s: the issues at Patient.gender and Patient.birthDate quote neither value',
    async (format) => {
      const args = ['validate', leaky, leakyXml, '--format', format, '--no-progress'];
      const quiet = await runHere([...args, '--no-values-in-messages']);
      expect(quiet.code).toBe(1);
      for (const element of ['Patient.gender', 'Patient.birthDate']) expect(quiet.out).toContain(element);
      for (const hetu of HETUS) expect(quiet.out).not.toContain(hetu);
      const shown = await runHere(args);
      expect(shown.code).toBe(1);
      for (const hetu of HETUS) expect(shown.out).toContain(hetu);
    },
  );

  it('--help names the flag and says values are quoted without it', async () => {
    const help = (await runHere(['validate', '--help'])).out.replace(/\s+/g, ' ');
    expect(help).toContain("--no-values-in-messages leave the resources' values out of the issues");
    expect(help).toContain('by default they are quoted');
  });
});
