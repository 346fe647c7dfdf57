/**
 * A member state on the wire (the payload of an alive message or a push-pull record; tags are a
 * state entry since protocol 3, tags-entry.ts): its payload copied out of the packet once the
 * whole packet is known to be valid (until then the decoder holds it as a view into the packet).
 */
import type { Message, PushPullView } from './messages.js';

/** Most bytes in one payload slab; a retained payload keeps at most this much memory (or itself). */
const SLAB_BYTES = 64 * 1024;

/** A decoded member state, whose payload is still a view into the packet until copyPayloads. */
interface DecodedState {
  payload: Uint8Array | null;
}

/** Calls `visit` with every member state of `messages` that has a payload, in packet order. */
function eachPayload(messages: readonly (Message | PushPullView)[], visit: (state: DecodedState, payload: Uint8Array) => void): void {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.type === 'alive') {
      const payload = m.state.payload;
      if (payload !== null) visit(m.state, payload);
    } else if (m.type === 'signed') {
      const inner = m.message;
      if (inner.type === 'alive' && inner.state.payload !== null) visit(inner.state, inner.state.payload);
    } else if (m.type === 'push-pull') {
      const members = m.members;
      for (let j = 0; j < members.length; j++) {
        const state = members[j]!.state;
        const payload = state.payload;
        if (payload !== null) visit(state, payload);
      }
    }
  }
}

/**
 * Replaces every payload of a valid packet's messages (views into the packet, as the decoder read
 * them) with a copy, the copies packed in order into slabs of at most SLAB_BYTES (or one payload).
 * Copying waits until every message is valid, and copies into a few slabs: a fresh `Uint8Array`
 * over 64 bytes is an off-heap allocation (about a microsecond each), which would dominate a
 * 10,000-member push-pull. A rejected packet's views are dropped with its messages.
 */
export function copyPayloads(messages: readonly (Message | PushPullView)[]): void {
  // First the slabs: payloads in order, each slab as many as fit (at least one).
  const slabSizes: number[] = [];
  const slabCounts: number[] = [];
  let size = 0;
  let count = 0;
  eachPayload(messages, (_state, payload) => {
    if (count > 0 && size + payload.length > SLAB_BYTES) {
      slabSizes.push(size);
      slabCounts.push(count);
      size = 0;
      count = 0;
    }
    size += payload.length;
    count++;
  });
  if (count === 0) return;
  slabSizes.push(size);
  slabCounts.push(count);
  // Then the copies.
  let slabIndex = 0;
  let slab = new Uint8Array(slabSizes[0]!);
  let offset = 0;
  let placed = 0;
  eachPayload(messages, (state, payload) => {
    if (placed === slabCounts[slabIndex]) {
      slabIndex++;
      slab = new Uint8Array(slabSizes[slabIndex]!);
      offset = 0;
      placed = 0;
    }
    const length = payload.length;
    slab.set(payload, offset);
    state.payload = slab.subarray(offset, offset + length);
    offset += length;
    placed++;
  });
}
