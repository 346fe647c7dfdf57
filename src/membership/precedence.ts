/**
 * Which of two claims about one member wins (DESIGN.md, "Protocol essentials"):
 *   alive(i) beats alive|suspect(j) if i > j;
 *   suspect(i) beats alive(j) if i >= j and suspect(j) if i > j;
 *   dead|left(i) beat anything with j <= i; at equal incarnation left beats dead (a member that
 *   was declared dead and then left gracefully is reported as left).
 * Incarnations compare in serial order (incarnation.ts), so there is no largest one to lock a
 * member out with. Within a window of 2^31 incarnations this is a total order on (incarnation,
 * rank) with rank alive < suspect < dead < left, so merging claims keeps the maximum: commutative,
 * associative and idempotent, whatever order gossip arrives in.
 */
import type { MemberStatus } from '../wire/messages.js';
import { newer } from './incarnation.js';

const RANK: Readonly<Record<MemberStatus, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/** True when the claim (incarnation, status) supersedes what is held (heldIncarnation, heldStatus). */
export function beats(incarnation: number, status: MemberStatus, heldIncarnation: number, heldStatus: MemberStatus): boolean {
  if (incarnation !== heldIncarnation) return newer(incarnation, heldIncarnation);
  return RANK[status] > RANK[heldStatus];
}
