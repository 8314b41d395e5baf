import { createHash } from 'node:crypto';
import { quoted } from '../walk/report.ts';
import type { CheckContext } from './context.ts';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Attachment.size and Attachment.hash (R4: base64 SHA-1) must describe `data` when both are present,
 * as the HL7 validator checks. Invalid base64 is reported by the primitive check, not here. An
 * attachment with neither data nor url should say at least what it would be (contentType or
 * language): the HL7 validator's warning (TYPE_SPECIFIC_CHECKS_DT_ATT_NO_CONTENT). The SHA-1 of the
 * data is never printed: it fingerprints the client's document.
 */
export function checkAttachment(walk: CheckContext, value: Record<string, unknown>): void {
  if (!has(value, 'data') && !has(value, 'url') && !has(value, 'contentType') && !has(value, 'language'))
    walk.report(
      'warning',
      'structure',
      'Attachments have data and/or url, or else SHOULD have either contentType and/or language',
    );
  if (typeof value.data !== 'string') return;
  const data = value.data.replace(/\s+/g, '');
  if (data.length % 4 !== 0 || !BASE64.test(data)) return;
  const bytes = Buffer.from(data, 'base64');
  if (typeof value.size === 'number' && value.size !== bytes.length) {
    walk.report(
      'error',
      'value',
      `Attachment.size: stated attachment size ${quoted(String(value.size))} does not match the actual size of data (${quoted(String(bytes.length))} bytes)`,
    );
  }
  if (typeof value.hash === 'string') {
    const actual = createHash('sha1').update(bytes).digest('base64');
    if (value.hash.replace(/\s+/g, '') !== actual) {
      walk.report(
        'error',
        'value',
        `Attachment.hash: stated hash ${quoted(value.hash)} does not match the SHA-1 hash of data`,
      );
    }
  }
}

/** The element is there: a value, or its `_name` object (extensions only). */
const has = (value: Record<string, unknown>, name: string): boolean =>
  value[name] !== undefined || value[`_${name}`] !== undefined;
