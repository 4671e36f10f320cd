export { type CommonConfig, commonSchema, commonShape, withCommonRules } from './common.js';
export * from './fields.js';
export {
  ConfigError,
  type ConfigProblem,
  envName,
  type LoadOptions,
  loadConfig,
  markSecret,
  redact,
} from './load.js';
