/**
 * The deterministic simulator: a virtual clock and network driving the real membership code.
 * `createWorld` is World with the production Membership as its node factory.
 */
import { Membership } from '../membership/membership.js';
import { World, type MemberFactory, type WorldOptions } from './world.js';

export { EventHeap } from './event-heap.js';
export {
  Network,
  NodeSet,
  DEFAULT_LINK,
  validateLatency,
  type LatencyModel,
  type LinkSpec,
  type NetworkOptions,
  type NetworkStats,
} from './network.js';
export {
  World,
  simAddress,
  type EventListener,
  type MemberFactory,
  type NodeLifecycle,
  type PacketCount,
  type SimMember,
  type SimMemberConfig,
  type Traffic,
  type WorldOptions,
  type WorldStats,
} from './world.js';
export { Scenario, ScenarioError, SpreadTracker, scenario, fmtMs, type SpreadKind, type WaitOptions } from './scenario.js';
export {
  convergenceSpec,
  loadPlotLibraries,
  renderConvergenceSvg,
  OKABE_ITO,
  PlotLibrariesMissingError,
  SERIES,
  type ConvergencePanel,
  type PlotLibraries,
  type PlotOptions,
} from './plot.js';

/** Builds nodes with the production state machine. */
export const membershipFactory: MemberFactory = (config) => new Membership(config);

/** A World whose nodes run the production Membership (unless `factory` says otherwise). */
export function createWorld(options: Omit<WorldOptions, 'factory'> & { readonly factory?: MemberFactory } = {}): World {
  return new World({ ...options, factory: options.factory ?? membershipFactory });
}
