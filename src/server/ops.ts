import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import pino, { type Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
 * Structured request logs: one line per finished (or aborted) request with its id, method, URL,
 * route pattern, status and duration. Headers are never logged, so credentials stay out of the log.
 * Nothing is built for a request whose line the logger's level would drop.
 */
export function requestLogging(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', id);
    req.id = id;
    const started = performance.now();
    const done = (aborted: boolean) => {
      const status = res.statusCode;
      const level = aborted || status >= 400 ? (status >= 500 ? 'error' : 'warn') : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id, method: req.method, url: req.originalUrl },
          res: { statusCode: status },
          route: res.locals.route,
          responseTime: Math.round(performance.now() - started),
        },
        aborted ? 'request aborted' : 'request completed',
      );
    };
    res.once('finish', () => done(false));
    res.once('close', () => {
      if (!res.writableFinished) done(true);
    });
    next();
  };
}

export interface Metrics {
  registry: Registry;
  middleware: RequestHandler;
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
  const middleware: RequestHandler = (req: Request, res: Response, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const labels = {
        method: req.method,
        route: (res.locals.route as string) ?? 'unmatched',
        status: String(res.statusCode),
      };
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
  return { registry, middleware };
}
