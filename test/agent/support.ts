import { existsSync, readFileSync } from 'node:fs';
import { createAgent } from '../../src/agent/agent.js';
import type { Agent, AgentOptions } from '../../src/agent/types.js';
import type { MemberStatus } from '../../src/wire/messages.js';

export { waitFor } from '../transport/support.js';

/** Agents made by a test, closed by `closeAll` (in afterEach). */
export class Agents {
  private readonly made: Agent[] = [];

  /** An agent on 127.0.0.1 with a free port and the fast 'local' profile. */
  make(name: string, options: Partial<AgentOptions> = {}): Agent {
    const a = createAgent({ name, bind: { host: '127.0.0.1', port: 0 }, profile: 'local', ...options });
    this.made.push(a);
    return a;
  }

  /** Closes `agent` with the others. */
  adopt(agent: Agent): void {
    this.made.push(agent);
  }

  async started(name: string, options: Partial<AgentOptions> = {}): Promise<Agent> {
    const a = this.make(name, options);
    await a.start();
    return a;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.made.splice(0).map((a) => a.close()));
  }
}

export function statusOf(agent: Agent, name: string): MemberStatus | undefined {
  return agent.members().find((m) => m.name === name)?.status;
}

export function incarnationOf(agent: Agent, name: string): number | undefined {
  return agent.members().find((m) => m.name === name)?.incarnation;
}

/** True when every agent lists every name with `status`. */
export function allSee(agents: readonly Agent[], names: readonly string[], status: MemberStatus): boolean {
  return agents.every((a) => names.every((n) => statusOf(a, n) === status));
}

export function hostPort(agent: Agent): string {
  return `${agent.address.host}:${agent.address.port}`;
}

/** Every agent's view, one line each, for failure messages. */
export function views(agents: readonly Agent[]): string {
  return agents
    .map((a) => `${a.name} sees ${a.members().map((m) => `${m.name}:${m.status}@${m.incarnation}`).join(' ')}`)
    .join(' | ');
}

/**
 * Whether process `pid` has exited: it is gone, or a zombie its parent has not reaped yet (in a
 * container, init may never reap an orphan). Linux reads /proc; elsewhere kill(pid, 0).
 */
export function processGone(pid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ESRCH') return true;
      throw err;
    }
    // "PID (COMMAND) STATE ...": the state letter follows the last parenthesis.
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw err;
  }
}
