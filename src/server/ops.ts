import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import pino, { type Logger } from 'pino';
import { AggregatorRegistry, Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { maskHetus } from '../domain/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function defaultLogger(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'info', name: 'tyokyky-fhir' });
}

declare global {
  namespace Express {
    interface Request {
      /** The request id (incoming X-Request-Id when sane, else a new UUID), echoed in the response. */
      id?: string;
    }
  }
}

/**
 * Per-request telemetry in one middleware with one listener: the request id (incoming X-Request-Id
 * when sane, else a new UUID, echoed in the response), Prometheus counts and durations by method,
 * route pattern and status, and one structured log line per finished (or aborted) request.
 * Headers are never logged, so credentials stay out of the log; nothing is built for a line the
 * logger's level would drop.
 */
export function requestTelemetry(logger: Logger, metrics: Metrics): RequestHandler {
  return (req: Request, res: Response, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', id);
    req.id = id;
    const started = performance.now();
    // 'close' follows 'finish' on every response, and comes alone when the client went away first.
    res.once('close', () => {
      const aborted = !res.writableFinished;
      const status = res.statusCode;
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      const ms = performance.now() - started;
      if (!aborted) metrics.observe(req.method, route, status, ms / 1000);
      const level = aborted || status >= 400 ? (status >= 500 ? 'error' : 'warn') : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          // The path only (a query string can carry identifiers), any HETU in it masked (an id), also
          // one written with percent-escapes (maskHetus decodes the path to find it).
          req: { id, method: req.method, url: maskHetus(req.originalUrl.split('?', 1)[0] as string) },
          res: { statusCode: status },
          ...(res.locals.clientId ? { client: res.locals.clientId } : {}),
          route: res.locals.route,
          responseTime: Math.round(ms),
        },
        aborted ? 'request aborted' : 'request completed',
      );
    });
    next();
  };
}

export interface Metrics {
  registry: Registry;
  /** Counts a finished request and records its duration. */
  observe(method: string, route: string, status: number, seconds: number): void;
  /**
   * Adds another registry (the sync's) to what `registry.metrics()` shows: in a `--workers` pool to
   * what the pool sums, elsewhere to this process's own.
   */
  include(other: Registry): void;
}

/** Prometheus request counts and durations by method, route pattern and status. One registry per app. */
export function createMetrics(): Metrics {
  const registry = new PoolRegistry();
  if (cluster.isWorker) joinPoolMetrics(registry);
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // prom-client hashes the label object on every call; the few label sets a server sees are bound once.
  const bound = new Map<string, { count: () => void; time: (s: number) => void }>();
  return {
    registry,
    include(other) {
      registry.others.push(other);
      if (cluster.isWorker) inWorker.registries.push(other);
    },
    observe(method, route, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let series = bound.get(key);
      if (!series) {
        const labels = { method, route, status: String(status) };
        const counter = requests.labels(labels);
        const histogram = duration.labels(labels);
        series = { count: () => counter.inc(), time: (s) => histogram.observe(s) };
        bound.set(key, series);
      }
      series.count();
      series.time(seconds);
    },
  };
}

// A `--workers N` pool: every worker counts its own requests, and a scrape, answered by whichever
// worker the primary hands the connection to, must show the pool's counts (a counter read from one
// worker and then another would go backwards). The answering worker asks the primary, which gathers
// each worker's registries as JSON and sums them (prom-client's AggregatorRegistry.aggregate). Not its
// clusterMetrics(): that asks every connected worker, also one still starting (a replacement waiting
// for its database), which never answers, so every scrape would wait 5 s and fail.
const POOL = {
  ready: 'tyokyky:metrics-ready', // worker → primary: it has a registry to gather
  get: 'tyokyky:metrics-get', // primary → worker: your registries as JSON
  json: 'tyokyky:metrics-json', // worker → primary: the answer to `get`
  scrape: 'tyokyky:metrics-scrape', // worker → primary: the pool's metrics, please
  text: 'tyokyky:metrics-text', // primary → worker: the answer to `scrape`
} as const;
/** How long the primary waits for the workers' counts, and a worker for the primary's answer. */
const POOL_METRICS_TIMEOUT_MS = 5000;

interface PoolMessage {
  type?: unknown;
  id?: number;
  metrics?: object[][];
  text?: string;
  error?: string;
}

/** In a pool worker, `metrics()` is the whole pool's; elsewhere this process's own, `others` included. */
class PoolRegistry extends Registry {
  readonly others: Registry[] = [];

  override async metrics(): Promise<string> {
    if (cluster.isWorker && process.connected) return askPool();
    const texts = await Promise.all([super.metrics(), ...this.others.map((r) => r.metrics())]);
    return texts.join('\n');
  }
}

/** This worker's registries the pool's metrics gather, and its scrapes waiting for the primary. */
const inWorker = {
  registries: [] as Registry[],
  scrapes: new Map<number, (answer: PoolMessage) => void>(),
  next: 0,
};

/** Worker side: answers the primary's gathers with `registry`, and tells it there is one. */
function joinPoolMetrics(registry: Registry): void {
  inWorker.registries.push(registry);
  if (inWorker.registries.length > 1) return;
  process.on('message', (message: PoolMessage) => {
    if (message?.type === POOL.get) {
      void Promise.all(inWorker.registries.map((r) => r.getMetricsAsJSON())).then((metrics) =>
        sendToPrimary({ type: POOL.json, id: message.id, metrics }),
      );
    } else if (message?.type === POOL.text && message.id !== undefined) {
      inWorker.scrapes.get(message.id)?.(message);
    }
  });
  sendToPrimary({ type: POOL.ready });
}

/** A message to the primary; a channel closed meanwhile (the pool stopping) is no error. */
function sendToPrimary(message: PoolMessage): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
}

/** The pool's metrics as Prometheus text, through the primary; a 503 when they cannot be had. */
function askPool(): Promise<string> {
  const id = inWorker.next++;
  return new Promise<string>((resolve, reject) => {
    const unavailable = (why: string) =>
      new FhirError(503, issue('fatal', 'transient', `The worker pool's metrics are unavailable: ${why}`));
    const timer = setTimeout(() => {
      inWorker.scrapes.delete(id);
      reject(unavailable('the primary did not answer'));
    }, POOL_METRICS_TIMEOUT_MS * 2);
    inWorker.scrapes.set(id, (answer) => {
      clearTimeout(timer);
      inWorker.scrapes.delete(id);
      if (answer.text !== undefined) resolve(answer.text);
      else reject(unavailable(answer.error ?? 'no answer'));
    });
    sendToPrimary({ type: POOL.scrape, id });
  });
}

/**
 * Primary side of a `--workers` pool: answers a worker's scrape with every ready worker's registries
 * summed. A worker still starting has counted nothing and is not asked; one that exits meanwhile is
 * left out (its counts went with it, as a restarted process's do).
 */
export function aggregateWorkerMetrics(logger: Logger): void {
  const ready = new Set<Worker>();
  const gathers = new Map<number, (worker: Worker, metrics?: object[][]) => void>();
  let next = 0;
  cluster.on('message', (worker: Worker, message: PoolMessage) => {
    if (message?.type === POOL.ready) ready.add(worker);
    else if (message?.type === POOL.json && message.id !== undefined)
      gathers.get(message.id)?.(worker, message.metrics);
    else if (message?.type === POOL.scrape) {
      gatherPool(ready, gathers, next++)
        .then((parts) => AggregatorRegistry.aggregate(parts).metrics())
        .then(
          (text) => sendQuietly(worker, { type: POOL.text, id: message.id, text }),
          (err: Error) => {
            logger.warn({ err: err.message }, 'metrics of the worker pool not gathered');
            sendQuietly(worker, { type: POOL.text, id: message.id, error: err.message });
          },
        );
    }
  });
  cluster.on('exit', (worker: Worker) => {
    ready.delete(worker);
    for (const answer of gathers.values()) answer(worker);
  });
}

/** Every ready worker's registries as JSON (one list per registry). */
function gatherPool(
  ready: Set<Worker>,
  gathers: Map<number, (worker: Worker, metrics?: object[][]) => void>,
  id: number,
): Promise<object[][]> {
  const waiting = new Set([...ready].filter((w) => w.isConnected()));
  if (!waiting.size) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const parts: object[][] = [];
    const timer = setTimeout(() => {
      gathers.delete(id);
      reject(new Error(`${waiting.size} worker(s) did not answer within ${POOL_METRICS_TIMEOUT_MS} ms`));
    }, POOL_METRICS_TIMEOUT_MS);
    const answer = (worker: Worker, metrics?: object[][]) => {
      if (!waiting.delete(worker)) return;
      if (metrics) parts.push(...metrics);
      if (waiting.size) return;
      clearTimeout(timer);
      gathers.delete(id);
      resolve(parts);
    };
    gathers.set(id, answer);
    for (const worker of [...waiting]) {
      if (!sendQuietly(worker, { type: POOL.get, id })) answer(worker);
    }
  });
}

/** Sends to a worker that may have just gone away; false when it could not. */
function sendQuietly(worker: Worker, message: PoolMessage): boolean {
  if (!worker.isConnected()) return false;
  try {
    // With a callback a channel closed meanwhile is no 'error' event (unhandled, it would end the
    // process); false only says the channel is backed up, and the message is queued.
    worker.send(message, undefined, () => {});
    return true;
  } catch {
    return false;
  }
}
