/**
 * Internal: the receiver's replay protection. A sender opens a session with
 * a hello; the receiver draws its id at random and keeps, per session, which
 * sequence numbers it accepted in a sliding window. A frame is accepted once
 * at most, only in a session this receiver process opened, and only within
 * the window of the highest number seen; a frame of a session that is gone
 * (the receiver restarted, or evicted it) is refused, and the sender opens a
 * new one. No clock is involved.
 *
 * @module
 */
import { hex, randomId } from "./_frame.ts";
import type { NodeId } from "./types.ts";

/** Sequence numbers accepted out of order behind the highest one. */
export const REPLAY_WINDOW = 1024;
/** Sessions kept per sender: the least recently used one goes first. */
export const SESSIONS_PER_PEER = 4;
/** Hello nonces remembered per sender, to refuse a replayed hello. */
const NONCES_PER_PEER = 64;

interface Session {
  peer: NodeId;
  top: number;
  seen: Set<number>;
  pending: Set<number>;
}

/** What {@linkcode SessionTable.reserve} found. */
export type Reservation = "ok" | "unknown-session" | "replay";

/** The sessions of one receiver process. */
export class SessionTable {
  /** Per sender, its sessions by hex id, least recently used first. */
  readonly #byPeer = new Map<NodeId, Map<string, Session>>();
  readonly #nonces = new Map<NodeId, string[]>();

  /**
   * Opens a session for `peer`'s hello with `nonce`; returns its id, or
   * `null` when this nonce was seen already (a replayed hello).
   */
  open(peer: NodeId, nonce: Uint8Array): Uint8Array | null {
    const nonces = this.#nonces.get(peer) ?? [];
    const key = hex(nonce);
    if (nonces.includes(key)) return null;
    nonces.push(key);
    if (nonces.length > NONCES_PER_PEER) nonces.shift();
    this.#nonces.set(peer, nonces);
    const sessions = this.#byPeer.get(peer) ?? new Map<string, Session>();
    this.#byPeer.set(peer, sessions);
    while (sessions.size >= SESSIONS_PER_PEER) {
      sessions.delete(sessions.keys().next().value!);
    }
    const id = randomId();
    sessions.set(hex(id), {
      peer,
      top: 0,
      seen: new Set(),
      pending: new Set(),
    });
    return id;
  }

  /** Whether `peer` has a session here (it said hello to this process before). */
  knows(peer: NodeId): boolean {
    return (this.#byPeer.get(peer)?.size ?? 0) > 0;
  }

  /**
   * Claims `seq` in `peer`'s `session` for a frame whose body is about to
   * be read; {@linkcode SessionTable.commit} or
   * {@linkcode SessionTable.release} it afterwards. A number already
   * accepted, being read, or behind the window is a replay.
   */
  reserve(peer: NodeId, at: { session: Uint8Array; seq: number }): Reservation {
    const sessions = this.#byPeer.get(peer);
    const key = hex(at.session);
    const s = sessions?.get(key);
    if (sessions === undefined || s === undefined) return "unknown-session";
    sessions.delete(key);
    sessions.set(key, s);
    const { seq } = at;
    if (
      seq <= 0 || seq <= s.top - REPLAY_WINDOW || s.seen.has(seq) ||
      s.pending.has(seq)
    ) {
      return "replay";
    }
    s.pending.add(seq);
    return "ok";
  }

  /** Marks a reserved number accepted. */
  commit(peer: NodeId, at: { session: Uint8Array; seq: number }): void {
    const s = this.#byPeer.get(peer)?.get(hex(at.session));
    if (s === undefined) return;
    s.pending.delete(at.seq);
    s.seen.add(at.seq);
    if (at.seq > s.top) {
      s.top = at.seq;
      if (s.seen.size > 2 * REPLAY_WINDOW) {
        for (const n of s.seen) {
          if (n <= s.top - REPLAY_WINDOW) s.seen.delete(n);
        }
      }
    }
  }

  /** Gives a reserved number back (its body did not verify). */
  release(peer: NodeId, at: { session: Uint8Array; seq: number }): void {
    this.#byPeer.get(peer)?.get(hex(at.session))?.pending.delete(at.seq);
  }
}
