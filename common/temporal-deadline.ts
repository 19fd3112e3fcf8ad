/**
 * Temporal calls with a deadline, and Node's promise hook off between them.
 *
 * Temporal's client keeps a call's deadline in an AsyncLocalStorage. Once one has been used, Node 20
 * runs a hook on every promise the process makes, for good: in the API that is every prediction too,
 * about 4 % of its CPU per prediction (measured with two replicas under the same load, alternating).
 * So the storage is switched off whenever no call with a deadline is under way; the next one switches
 * it on again.
 */
import type { Client, Connection } from '@temporalio/client';

const underWay = new WeakMap<object, number>();

/** after Connection.connect, whose first call ran with a deadline: no call needs the storage now */
export function leavePromiseHookOff(connection: Connection): void {
  if (!underWay.get(connection.callContextStorage)) connection.callContextStorage.disable();
}

/** `fn`'s Temporal calls with a deadline `ms` from now (Client.withDeadline) */
export async function withDeadline<T>(client: Client, ms: number, fn: () => Promise<T>): Promise<T> {
  const storage = (client.connection as Partial<Connection>).callContextStorage;
  if (!storage) return await client.withDeadline(Date.now() + ms, fn); // a connection of another kind
  underWay.set(storage, (underWay.get(storage) ?? 0) + 1);
  try {
    return await client.withDeadline(Date.now() + ms, fn);
  } finally {
    const left = underWay.get(storage)! - 1;
    underWay.set(storage, left);
    if (left === 0) storage.disable();
  }
}
