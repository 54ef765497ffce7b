import type { Decider } from '#domain/shared/event.js';
import type { ProjectionRebuildRequested } from './events.js';

/** How many rebuilds of this read model were asked for: the stream is an audit record, there is no rule to keep. */
export type ProjectionRebuildState = Readonly<{ requests: number }>;

export type RequestProjectionRebuild = Readonly<{
  type: 'RequestProjectionRebuild';
  data: Readonly<{ projection: string; by: string }>;
}>;

export const projectionRebuildDecider: Decider<
  ProjectionRebuildState,
  RequestProjectionRebuild,
  ProjectionRebuildRequested
> = {
  initialState: () => ({ requests: 0 }),
  decide: (command) => [
    { type: 'ProjectionRebuildRequested', data: { projection: command.data.projection, by: command.data.by } },
  ],
  evolve: (state) => ({ requests: state.requests + 1 }),
};
