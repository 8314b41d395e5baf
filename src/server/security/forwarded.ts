import { BlockList, isIP } from 'node:net';
import type { Request } from 'express';

/**
 * The public origin a trusted reverse proxy reports for a request (`X-Forwarded-Proto`,
 * `X-Forwarded-Host`, `X-Forwarded-Prefix`), e.g. `https://fhir.example.fi/tyokyky`. Believed only
 * when the connection itself comes from one of the configured proxy addresses; otherwise, or when
 * a header is missing or malformed, there is none and links keep the configured base. The `Host`
 * header is never used. When a header holds a list, the last entry is the one the nearest proxy (the
 * trusted one) added.
 */
export type ForwardedOrigin = (req: Request) => string | undefined;

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const PREFIX = /^(?:\/[A-Za-z0-9._~-]+)*$/;

/** `proxies`: addresses or CIDR ranges (`127.0.0.1`, `10.0.0.0/8`, `::1`); throws on anything else. */
export function forwardedOrigin(proxies: readonly string[]): ForwardedOrigin {
  const trusted = trustedProxies(proxies);
  return (req) => {
    const peer = req.socket.remoteAddress?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    if (!peer || !trusted.check(peer, isIP(peer) === 6 ? 'ipv6' : 'ipv4')) return undefined;
    const proto = last(req.headers['x-forwarded-proto'])?.toLowerCase();
    const host = last(req.headers['x-forwarded-host']);
    const path = last(req.headers['x-forwarded-prefix'])?.replace(/\/+$/, '') ?? '';
    if ((proto !== 'https' && proto !== 'http') || !host || !HOST.test(host) || !PREFIX.test(path)) {
      return undefined;
    }
    return `${proto}://${host.toLowerCase()}${path}`;
  };
}

/**
 * The `--trust-proxy` list checked (the CLI calls it before it opens anything, `forwardedOrigin` when
 * the server starts): throws naming the first entry that is not an IP address or CIDR range.
 */
export function checkTrustedProxies(proxies: readonly string[]): void {
  trustedProxies(proxies);
}

function trustedProxies(proxies: readonly string[]): BlockList {
  const trusted = new BlockList();
  for (const entry of proxies) {
    const [address = '', bits, extra] = entry.trim().split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = family === 6 ? 128 : 32;
    if (
      !family ||
      extra !== undefined ||
      (prefix !== undefined && (!/^\d{1,3}$/.test(bits ?? '') || prefix > max))
    ) {
      throw new Error(`trusted proxy "${entry}" is not an IP address or CIDR range`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, prefix, type);
  }
  return trusted;
}

function last(header: string | string[] | undefined): string | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  const value = text?.split(',').at(-1)?.trim();
  return value || undefined;
}
