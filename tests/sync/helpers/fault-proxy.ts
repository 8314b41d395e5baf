// An HTTP proxy in front of a FHIR server that injects faults: error statuses (with Retry-After
// on 429/503), hangs past the client's timeout, lost responses (forwarded, then answered 503),
// unreadable answers (forwarded, then answered 200 with a body that is no answer),
// slow paths, and going down (connections refused) and coming back on the same port.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../../helpers/seeded-random.ts';

export interface Faults {
  /** Share of requests answered with one of `statuses` without forwarding. */
  errorRate: number;
  statuses: number[];
  /** Retry-After header value sent with 429/503. */
  retryAfter?: string;
  /** Share of requests held for `hangMs`, then dropped unprocessed. */
  hangRate: number;
  hangMs: number;
  /** The next this-many requests hang regardless of `hangRate`. */
  hangNext: number;
  /** Share of requests forwarded (so they take effect) whose answer is replaced by a 503. */
  dropRate: number;
  /** The next this-many requests get an error status / lose their answer regardless of the rates. */
  errorNext: number;
  /** Requests let through before `errorNext` applies (a failure half-way through a series). */
  errorAfter: number;
  dropNext: number;
  /** Counts requests down: the answer of the request that brings it to 0 is lost (0: off). */
  dropAt: number;
  /** The next this-many requests are forwarded (so they take effect) and their answers held until release. */
  holdNext: number;
  /** When set, only requests of this method count for `holdNext` (e.g. POST: a write, not a read). */
  holdMethod?: string;
  /**
   * The next this-many requests (of `garbleMethod`, when set) are forwarded, so they take effect, and
   * answered 200 with `garbleBody` instead of the remote's answer: stored, the answer unreadable.
   */
  garbleNext: number;
  garbleBody: string;
  garbleMethod?: string;
  /** Requests whose path matches are answered with this status, never forwarded (a remote without an interaction). */
  refuse?: { path: RegExp; status: number };
  /** Requests whose path matches wait this long before they are forwarded (a slow interaction). */
  slow?: { path: RegExp; ms: number };
}

export interface FaultProxy {
  url: string;
  faults: Faults;
  stats: {
    requests: number;
    injected: number;
    hung: number;
    dropped: number;
    forwarded: number;
    held: number;
    garbled: number;
  };
  /** The path and query of every request but the token's, in the order they came. */
  requested: string[];
  /** Lets every held answer go on to the client. */
  releaseHeld(): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(
  target: string,
  faults: Partial<Faults> = {},
  seed = 42,
): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  // Seeded, so fault patterns repeat run to run.
  const random = seededRandom(seed);
  const state: Faults = {
    errorRate: 0,
    statuses: [503],
    hangRate: 0,
    hangMs: 0,
    hangNext: 0,
    dropRate: 0,
    errorNext: 0,
    errorAfter: 0,
    dropNext: 0,
    holdNext: 0,
    dropAt: 0,
    garbleNext: 0,
    garbleBody: '',
    ...faults,
  };
  const stats = { requests: 0, injected: 0, hung: 0, dropped: 0, forwarded: 0, held: 0, garbled: 0 };
  let holds: (() => void)[] = [];
  const requested: string[] = [];
  const sockets = new Set<Socket>();
  let port = 0;
  let server: Server;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const isToken = (req.url ?? '').endsWith('/token');
    if (!isToken) {
      stats.requests++;
      requested.push(req.url ?? '/');
      const path = new URL(req.url ?? '/', 'http://proxy').pathname;
      if (state.slow?.path.test(path)) await new Promise((r) => setTimeout(r, state.slow?.ms));
      if (state.refuse?.path.test(path)) {
        stats.injected++;
        res.writeHead(state.refuse.status, { 'content-type': 'application/fhir+json' }).end(
          JSON.stringify({
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'not-supported', diagnostics: 'not here' }],
          }),
        );
        return;
      }
      const deferred = state.errorNext > 0 && state.errorAfter > 0;
      if (deferred) state.errorAfter--;
      else if (state.errorNext > 0 || random() < state.errorRate) {
        if (state.errorNext > 0) state.errorNext--;
        stats.injected++;
        const status = state.statuses[Math.floor(random() * state.statuses.length)];
        const headers: Record<string, string> = { 'content-type': 'application/fhir+json' };
        if (state.retryAfter && (status === 429 || status === 503)) headers['retry-after'] = state.retryAfter;
        res.writeHead(status, headers).end(
          JSON.stringify({
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'transient', diagnostics: 'injected fault' }],
          }),
        );
        return;
      }
      if (state.hangNext > 0 || random() < state.hangRate) {
        if (state.hangNext > 0) state.hangNext--;
        // A hung server: nothing is processed, no answer until the connection is dropped.
        stats.hung++;
        await new Promise((r) => setTimeout(r, state.hangMs));
        req.socket.destroy();
        return;
      }
    }
    const counted = !isToken && state.dropAt > 0 && --state.dropAt === 0;
    const drop = counted || (!isToken && (state.dropNext > 0 || random() < state.dropRate));
    if (drop && !counted && state.dropNext > 0) state.dropNext--;
    const hold =
      !isToken && !drop && state.holdNext > 0 && (!state.holdMethod || req.method === state.holdMethod);
    if (hold) state.holdNext--;
    const garble =
      !isToken &&
      !drop &&
      !hold &&
      state.garbleNext > 0 &&
      (!state.garbleMethod || req.method === state.garbleMethod);
    if (garble) state.garbleNext--;
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(
        ([k]) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k),
      ),
    ) as Record<string, string>;
    const upstream = await fetch(new URL(req.url ?? '/', targetUrl.origin), {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    stats.forwarded++;
    if (drop) {
      stats.dropped++;
      res
        .writeHead(503, { 'content-type': 'application/fhir+json' })
        .end(
          '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"answer lost"}]}',
        );
      return;
    }
    if (garble) {
      stats.garbled++;
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(state.garbleBody);
      return;
    }
    if (hold) {
      stats.held++;
      await new Promise<void>((resolve) => holds.push(resolve));
    }
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(k))
        out[k] = v.replaceAll(targetUrl.origin, `http://127.0.0.1:${port}`);
    });
    res
      .writeHead(upstream.status, out)
      .end(body.toString('utf8').replaceAll(targetUrl.origin, `http://127.0.0.1:${port}`));
  }

  function listen(): Promise<void> {
    server = createServer((req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    return new Promise((resolve) =>
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        resolve();
      }),
    );
  }

  async function down(): Promise<void> {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  }

  await listen();
  return {
    url: `http://127.0.0.1:${port}${targetUrl.pathname.replace(/\/$/, '')}`,
    faults: state,
    stats,
    requested,
    releaseHeld() {
      for (const h of holds) h();
      holds = [];
    },
    down,
    up: listen,
    close: down,
  };
}
