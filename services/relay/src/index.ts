// What other services (admin) may use from the relay: the queue view.
export { deleteMessage, flushMessage, listWaiting, type WaitingMessage } from './queue-view.js';
export { RelayState } from './state.js';
