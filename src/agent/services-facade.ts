/**
 * The AgentServices half of an agent, over a ServiceRuntime (services.ts): the agent (and a test
 * fake) extends it and says how to refuse writes once it is closed. Reads keep working on a
 * closed agent (they answer from the last view); writes throw AgentClosedError.
 */
import type { CheckInfo, CheckStatus, LocalService, ServiceDefinition } from '../registry/local.js';
import type { LookupOptions, ServiceInstance, ServiceSummary, ServiceWatchUpdate } from '../registry/types.js';
import type { PickOptions, ServiceRuntime, WatchOptions } from './services.js';
import type { AgentServices } from './types.js';

export abstract class ServiceFacade implements AgentServices {
  /** The registry, index and checks this agent runs. */
  protected abstract readonly serviceRuntime: ServiceRuntime;
  /** Throws AgentClosedError when the agent can no longer register (closed, or left). */
  protected abstract assertOpen(what: string): void;

  register(definition: ServiceDefinition, options: { persist?: boolean } = {}): ServiceInstance {
    this.assertOpen('register');
    return this.serviceRuntime.register(definition, { persist: options.persist ?? false });
  }

  deregister(id: string): boolean {
    return this.serviceRuntime.deregister(id);
  }

  registerDurably(definition: ServiceDefinition): Promise<ServiceInstance> {
    this.assertOpen('register');
    return this.serviceRuntime.registerDurably(definition);
  }

  deregisterDurably(id: string): Promise<boolean> {
    return this.serviceRuntime.deregisterDurably(id);
  }

  lookup(name: string, options?: LookupOptions): readonly ServiceInstance[] {
    return this.serviceRuntime.lookup(name, options);
  }

  pick(name: string, options?: PickOptions): ServiceInstance | undefined {
    return this.serviceRuntime.pick(name, options);
  }

  services(): ServiceSummary[] {
    return this.serviceRuntime.services();
  }

  localServices(): LocalService[] {
    return this.serviceRuntime.localServices();
  }

  checks(): CheckInfo[] {
    return this.serviceRuntime.checks();
  }

  nodeChecks(node: string): readonly CheckInfo[] {
    return this.serviceRuntime.nodeChecks(node);
  }

  updateCheck(checkId: string, status: CheckStatus, note?: string): void {
    this.serviceRuntime.updateTtl(checkId, status, note);
  }

  setMaintenance(enable: boolean, options: { serviceId?: string; reason?: string } = {}): void {
    this.serviceRuntime.setMaintenance(enable, options.serviceId, options.reason);
  }

  serviceIndex(name: string): number {
    return this.serviceRuntime.index.indexOf(name);
  }

  servicesIndex(): number {
    return this.serviceRuntime.index.lastIndex;
  }

  nodeMaintenance(): string | undefined {
    return this.serviceRuntime.local.nodeMaintenanceReason;
  }

  watch(name: string, options?: WatchOptions): AsyncIterableIterator<ServiceWatchUpdate> {
    return this.serviceRuntime.watch(name, options);
  }

  onServiceChange(name: string, listener: (update: ServiceWatchUpdate) => void, options: LookupOptions = {}): () => void {
    return this.serviceRuntime.subscribe(name, options, listener);
  }
}
