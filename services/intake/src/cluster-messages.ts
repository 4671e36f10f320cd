// What the intake supervisor and its workers say to each other over the
// node:cluster IPC channel. Every message carries `postamt` so it can never be
// mistaken for another library's (prom-client, Node's own cluster messages).

/** Worker → supervisor: the listeners are up. */
export interface ReadyMessage {
  postamt: 'ready';
}

/** Supervisor → worker: a question for /readyz or /metrics. */
export interface AskMessage {
  postamt: 'ask';
  id: number;
  what: 'readyz' | 'metrics';
}

/** Worker → supervisor: the answer to an AskMessage. */
export interface AnswerMessage {
  postamt: 'answer';
  id: number;
  body?: unknown;
  error?: string;
}

/** A worker's /readyz part. */
export interface WorkerReadiness {
  ready: boolean;
  checks: Record<string, string>;
  /** The gateway watch's warning, if any. */
  warning: string | null;
}

/**
 * Worker → supervisor: may one more connection from this client be open? The
 * supervisor counts for every worker (as Postfix's anvil does for every smtpd),
 * so the per-client limit holds for the instance, not per process.
 */
export interface OpenMessage {
  postamt: 'open';
  id: number;
  /** `<listener> <client key>` (clients are counted per listener, as before). */
  key: string;
  limit: number;
}

/** Supervisor → worker: the answer to an OpenMessage. */
export interface OpenedMessage {
  postamt: 'opened';
  id: number;
  ok: boolean;
}

/** Worker → supervisor: a connection counted by an OpenMessage has closed. */
export interface ClosedMessage {
  postamt: 'closed';
  key: string;
}

export type WorkerMessage = ReadyMessage | AnswerMessage | OpenMessage | ClosedMessage;
export type SupervisorMessage = AskMessage | OpenedMessage;

export function isPostamtMessage<T extends { postamt: string }>(m: unknown): m is T {
  return typeof m === 'object' && m !== null && typeof (m as { postamt?: unknown }).postamt === 'string';
}

/** The environment variable that tells a worker its slot (1…N); a replacement keeps its slot. */
export const SLOT_ENV = 'POSTAMT_INTAKE_WORKER_SLOT';
