/**
 * Requests Node's HTTP parser refuses before the app sees them (a request line or headers over the
 * limit, a malformed request): answered in the one error shape too, and the connection closed.
 */
import type { Socket } from 'node:net';
import { errorBody } from './errors';

const refusals: Record<string, { status: number; reason: string; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', code: 'headers_too_large', message: 'The request line or headers are too large.' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', code: 'request_timeout', message: 'The request took too long to arrive.' },
};
const malformed = { status: 400, reason: 'Bad Request', code: 'invalid_request', message: 'The request is not valid HTTP.' };

export function answerClientErrors(server: { on(event: 'clientError', listener: (err: Error & { code?: string }, socket: Socket) => void): unknown }) {
  server.on('clientError', (err, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const r = refusals[err.code ?? ''] ?? malformed;
    const body = JSON.stringify(errorBody(r.code, r.message));
    socket.end(`HTTP/1.1 ${r.status} ${r.reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
}
