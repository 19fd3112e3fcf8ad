/**
 * The failure converter when payloads are encrypted: an error's message and stack trace travel as a
 * payload (Temporal's `encodeCommonAttributes`), so the payload codec encrypts them too. Without it
 * a history would show "Dataset is empty (0 bytes): /data/patients.csv" in plain text. Loaded by
 * path, twice: into the workflow bundle (workflow failures) and by the Worker (activity failures).
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
