import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import pino, { type Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { maskHetus } from '../domain/index.ts';

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
}

/** Prometheus request counts and durations by method, route pattern and status. One registry per app. */
export function createMetrics(): Metrics {
  const registry = new Registry();
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
