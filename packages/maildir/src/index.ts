export { type Delivered, type DeliverOptions, deliver, ensureMaildir } from './deliver.js';
export { folderDir, MaildirError, userMaildir } from './layout.js';
export { listMessages, type MessageFile, parseName } from './list.js';
