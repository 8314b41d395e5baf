// What a database URL becomes in an error message: every secret it may carry is masked.
import { describe, expect, it } from 'vitest';
import { redact } from '../../src/store/engine.ts';

describe('redact (a database URL in an error message)', () => {
  it.each([
    ['postgres://u:s3cret@db:5432/x', 'postgres://u:***@db:5432/x'],
    ['postgres://u@db/x?password=s3cret', 'postgres://u@db/x?password=***'],
    [
      'postgres://u@db/x?sslpassword=s3cret&sslmode=require',
      'postgres://u@db/x?sslpassword=***&sslmode=require',
    ],
    ['postgres://u@db/x?PASSWORD=s3cret', 'postgres://u@db/x?PASSWORD=***'],
    ['postgres://u@db/x?pass%77ord=s3cret', 'postgres://u@db/x?password=***'],
    [
      'postgres://u@db/x?sslkey=%2Fetc%2Fkey.pem&application_name=a',
      'postgres://u@db/x?sslkey=***&application_name=a',
    ],
    ['postgres://u@db/x?password=a&password=b', 'postgres://u@db/x?password=***&password=***'],
    ['postgres://u@db/x?application_name=cli', 'postgres://u@db/x?application_name=cli'],
  ])('%s → %s', (url, shown) => {
    expect(redact(url)).toBe(shown);
  });

  it('an unparsable URL is not quoted at all', () => {
    expect(redact('postgres://u:s3cret@[bad/x')).toBe('(unparsable DATABASE_URL)');
  });
});
