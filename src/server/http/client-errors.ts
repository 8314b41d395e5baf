// What a client gets when Node's HTTP parser refuses its request before any route sees it — a request
// line or headers over Node's limit, a request that is not HTTP, one that took too long to arrive: the
// status Node would send, with an OperationOutcome instead of an empty answer.
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type IssueCode, issue, outcome } from '../../shared/outcome.ts';

interface Refusal {
  status: number;
  reason: string;
  code: IssueCode;
  diagnostics: string;
}

/** By Node's error code; anything else it refuses is a 400. */
const REFUSALS: Record<string, Refusal> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    code: 'too-long',
    diagnostics:
      'The request line and headers are too large (16 KB in all); send long search parameters in the body of POST [type]/_search',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    code: 'timeout',
    diagnostics: 'The request did not arrive in time',
  },
};

const NOT_HTTP: Refusal = {
  status: 400,
  reason: 'Bad Request',
  code: 'structure',
  diagnostics: 'The request is not valid HTTP/1.1',
};

/** Answers the requests Node's parser refuses on `server` with an OperationOutcome. */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const r = REFUSALS[err.code ?? ''] ?? NOT_HTTP;
    const body = JSON.stringify(outcome([issue('error', r.code, r.diagnostics)]));
    socket.end(
      [
        `HTTP/1.1 ${r.status} ${r.reason}`,
        'Content-Type: application/fhir+json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Cache-Control: no-store',
        'X-Content-Type-Options: nosniff',
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    );
  });
}
