/** The service registry: pure data structures the agent and the simulator drive. */
export * from './types.js';
export { ServiceIndex, diffInstances, type ServiceChangeListener, type ServiceIndexCounters } from './service-index.js';
export {
  LocalRegistry,
  normalizeService,
  CHECK_DEFAULTS,
  type CheckDefinition,
  type CheckInfo,
  type CheckKind,
  type CheckSpec,
  type CheckStatus,
  type Duration,
  type LocalService,
  type ServiceDefinition,
} from './local.js';
export { encodeInstances, decodeInstances, isRegistryPayload } from './payload.js';
export { RoundRobinPicker, RandomPicker, type PickStrategy } from './pickers.js';
export { REGISTRY_LIMITS } from './validate.js';
