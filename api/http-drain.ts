/**
 * Stopping an HTTP server under keep-alive load without losing an answer. Node's `server.close()`
 * closes the connections idle at that moment and then waits for the others to go idle by
 * themselves, which under steady keep-alive traffic is never: the process hangs until its
 * supervisor kills it, and whatever it still held (the prediction log's buffer) is lost.
 *
 * Draining here: the listening socket closes at once (new connections go to another replica);
 * every answer written from then on, the requests already in flight included, says
 * `Connection: close`, so the client opens its next request elsewhere and the connection ends
 * with its answer; connections still idle a second later are closed; and after `graceMs`
 * whatever is still open is cut.
 */
import net from 'node:net';
import { createServer, ServerResponse, type IncomingMessage, type RequestListener, type Server } from 'node:http';

/** how long a connection idle at the drain may take to send its next request (answered, then closed) */
const IDLE_MS = 1_000;

export interface DrainableServer {
  server: Server;
  /** true from the moment `drain` is called */
  readonly draining: boolean;
  /** stops accepting, lets the requests in flight finish, closes every connection; resolves when all are closed */
  drain(graceMs: number): Promise<void>;
}

export function createDrainableServer(listener: RequestListener): DrainableServer {
  let draining = false;
  // Every response goes through writeHead (res.end() without it calls it too): the one place to
  // turn keep-alive off, for responses started before the drain as well as after, at no cost per request.
  class DrainingResponse extends ServerResponse<IncomingMessage> {
    // either of writeHead's overloads, passed on as it came
    override writeHead(statusCode: number, ...rest: any[]): this {
      if (draining) this.shouldKeepAlive = false;
      return super.writeHead(statusCode, ...rest);
    }
  }
  const server = createServer({ ServerResponse: DrainingResponse }, listener);
  return {
    server,
    get draining() { return draining; },
    drain(graceMs) {
      draining = true;
      return new Promise<void>((resolve) => {
        // The listening socket only: http.Server.close() would also close the connections idle at this
        // instant, and a keep-alive client may have its next request on the wire on one of them (it
        // would be reset, unanswered). A busy connection's next request is answered with
        // Connection: close; the ones still idle after IDLE_MS are closed, and then every 50 ms.
        let sweep: NodeJS.Timeout | undefined;
        const idle = setTimeout(() => {
          server.closeIdleConnections();
          sweep = setInterval(() => server.closeIdleConnections(), 50);
        }, Math.min(IDLE_MS, graceMs));
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        net.Server.prototype.close.call(server, () => {
          clearTimeout(idle);
          clearInterval(sweep);
          clearTimeout(cut);
          resolve();
        });
      });
    },
  };
}
