export { addressKey, normalizeDomain, type ParsedAddress, splitAddress } from './address.js';
export { DETAIL_SEPARATOR, Directory, DirectoryError, type Resolution, type User } from './directory.js';
export { hashPassword, hashScheme, needsRehash, verifyPassword } from './passwords.js';
export { applySeed, parseQuota, readSeedFile, type Seed, seedSchema } from './seed.js';
export { sha512Crypt, verifySha512Crypt } from './sha512-crypt.js';
