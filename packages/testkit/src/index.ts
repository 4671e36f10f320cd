export { type ClamdServer, clamdConfig, clamdPing, startClamd, writeEicarSignatures } from './clamd.js';
export { type DnsRecord, reverseName, startDnsServer, type TestDnsServer } from './dns.js';
export { EICAR, GTUBE } from './eicar.js';
export { LineClient } from './line-client.js';
export {
  attachmentMessage,
  hamSample,
  type SampleOptions,
  spamSample,
  textMessage,
  zipOneFile,
} from './mail-samples.js';
export { freePort, sleep, waitFor } from './ports.js';
export { type ManagedProcess, makeTempDir, startProcess } from './process.js';
export { type RedisServer, redisPing, startRedis } from './redis.js';
export { type ServiceProcess, startService } from './service.js';
export {
  prepareSpamdHome,
  type SpamdOptions,
  type SpamdServer,
  spamdArgs,
  spamdPing,
  startSpamd,
} from './spamd.js';
