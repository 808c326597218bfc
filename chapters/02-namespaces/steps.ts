// The container start is a sequence of named steps. Chapter 02 writes the
// sequence; later chapters add steps to it instead of copying it:
// chapter 03 puts the process in a cgroup, chapter 04 mounts the image's
// layers as the rootfs, chapter 05 plugs in a network card.
import type { Spec } from './spec.ts';

// #region start-step
/** What a step sees of the container being started. */
export interface Starting {
  /** Unique id of the container (names cgroups, veths, state). */
  readonly id: string;
  /** The configuration; `prepare` may still change it (e.g. root.path). */
  readonly spec: Spec;
  /** Host pid of the container's init once it exists, else 0. */
  pid: number;
  /** Per-step scratch space, keyed by step name: what to undo later. */
  readonly data: Record<string, unknown>;
}

export interface StartStep {
  readonly name: string;
  /** Before the init process exists: allocate, mount, create. */
  prepare?(c: Starting): void | Promise<void>;
  /**
   * The init exists, in its new namespaces, and waits at the barrier:
   * c.pid is set. Join it to cgroups, move a veth into its netns, ...
   */
  attach?(c: Starting): void | Promise<void>;
  /**
   * Undo this step. Runs in reverse order when the container is gone or
   * its start failed at any point, so it must tolerate a step that only
   * half ran, and running twice.
   */
  release?(c: Starting): void | Promise<void>;
}
// #endregion
